"""Words and phrases found in members' text, on normalised text — shared by the features that
look for operator-given words (banned words, auto-reply keywords).

Rules:
- Text and patterns are normalised the same way: NFKC (full-width → half-width), case folded,
  and everything that is not a letter or digit dropped — so "加 . 微 - 信", "ＶＸ" and
  "v x" all read as their plain forms.
- ``*`` in a pattern stands for 0 to ``gap`` other characters (default 6) between its parts.
- Matching is an Aho–Corasick automaton (pyahocorasick) plus bounded look-ahead for the
  parts after a wildcard: linear in the message, no regex built from operator input.
- A pattern that is empty after normalisation, only wildcards, or over 64 characters is refused
  (``PatternError`` with its index, so config errors name the key path).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

import ahocorasick

MAX_PATTERN = 64


class PatternError(ValueError):
    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"[{index}]: {reason}")
        self.index = index
        self.reason = reason


def normalise(text: str) -> tuple[str, list[int]]:
    """The normalised text and, per kept character, its index in the original."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if len(folded) == len(text):  # the common case: one character for one
        where = [i for i, c in enumerate(folded) if c.isalnum()]
        return "".join(folded[i] for i in where), where
    out: list[str] = []
    idx: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if c.isalnum():
                out.append(c)
                idx.append(i)
    return "".join(out), idx


def pieces(pattern: str, index: int = 0) -> list[str]:
    """A pattern's literal parts, normalised (``PatternError`` when it cannot be used)."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(index, f"longer than {MAX_PATTERN} characters")
    parts = [x for x in (normalise(x)[0] for x in pattern.split("*")) if x]
    if not parts:
        raise PatternError(index, "nothing left to match after normalisation")
    return parts


@dataclass(frozen=True, slots=True)
class Match:
    pattern: str
    start: int
    end: int
    excerpt: str
    index: int = 0  # the pattern's position in the compiled list


class Patterns:
    """An Aho–Corasick automaton over each pattern's first literal part; the remaining parts
    of a wildcard pattern are then looked for within the bounded gap."""

    def __init__(self, patterns: list[str], automaton: Any, gap: int) -> None:
        self.patterns = patterns
        self.automaton = automaton
        self.gap = gap

    @classmethod
    def compile(cls, patterns: list[str], gap: int = 6) -> Patterns:
        automaton = ahocorasick.Automaton()
        firsts: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for i, p in enumerate(patterns):
            parts = pieces(p, i)
            firsts.setdefault(parts[0], []).append((i, tuple(parts[1:])))
        for first, entries in firsts.items():
            automaton.add_word(first, (len(first), entries))
        if firsts:
            automaton.make_automaton()
        return cls(patterns, automaton if firsts else None, gap)

    def _rest(self, norm: str, pos: int, rest: tuple[str, ...]) -> int | None:
        for part in rest:
            found = norm.find(part, pos, pos + self.gap + len(part))
            if found < 0:
                return None
            pos = found + len(part)
        return pos

    def match(self, text: str) -> Match | None:
        """The first pattern found in ``text`` (by where it ends), or None."""
        if self.automaton is None:
            return None
        norm, where = normalise(text)
        for end, (length, entries) in self.automaton.iter(norm):
            for idx, rest in entries:
                stop = self._rest(norm, end + 1, rest)
                if stop is None:
                    continue
                start, last = where[end + 1 - length], where[stop - 1] + 1
                lo, hi = max(0, start - 10), min(len(text), last + 10)
                return Match(self.patterns[idx], start, last, text[lo:hi], idx)
        return None

    def found(self, norm: str) -> set[int]:
        """The indices of every pattern found in ``norm`` (text already ``normalise``d)."""
        out: set[int] = set()
        if self.automaton is None:
            return out
        for end, (_length, entries) in self.automaton.iter(norm):
            for idx, rest in entries:
                if idx not in out and (not rest or self._rest(norm, end + 1, rest) is not None):
                    out.add(idx)
        return out
