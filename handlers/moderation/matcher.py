"""Banned words, matched on normalised text.

Rules:
- Text and patterns are normalised the same way: NFKC (full-width → half-width), case folded,
  and everything that is not a letter or digit dropped — so "加 . 微 - 信", "ＶＸ" and
  "v x" all read as their plain forms.
- ``*`` in a pattern stands for 0 to ``gap`` other characters (default 6) between its parts.
- Matching is a compiled regex of escaped literals joined by bounded ``.{0,gap}`` — no nested
  quantifiers, so hostile input cannot cause catastrophic backtracking.
- A pattern that is empty after normalisation, only wildcards, or over 64 characters is refused
  (``PatternError`` with its index, so config errors name the key path).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_PATTERN = 64


class PatternError(ValueError):
    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"[{index}]: {reason}")
        self.index = index
        self.reason = reason


def normalise(text: str) -> tuple[str, list[int]]:
    """The normalised text and, per kept character, its index in the original."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if c.isalnum():
                out.append(c)
                where.append(i)
    return "".join(out), where


@dataclass(frozen=True, slots=True)
class Match:
    pattern: str
    start: int
    end: int
    excerpt: str


class BannedWords:
    def __init__(self, patterns: list[str], regex: re.Pattern[str] | None) -> None:
        self.patterns = patterns
        self.regex = regex

    @classmethod
    def compile(cls, patterns: list[str], gap: int = 6) -> BannedWords:
        parts: list[str] = []
        for i, p in enumerate(patterns):
            if len(p) > MAX_PATTERN:
                raise PatternError(i, f"longer than {MAX_PATTERN} characters")
            pieces = [normalise(x)[0] for x in p.split("*")]
            pieces = [x for x in pieces if x]
            if not pieces:
                raise PatternError(i, "nothing left to match after normalisation")
            body = f".{{0,{gap}}}".join(re.escape(x) for x in pieces)
            parts.append(f"(?P<p{i}>{body})")
        return cls(patterns, re.compile("|".join(parts)) if parts else None)

    def match(self, text: str) -> Match | None:
        if self.regex is None:
            return None
        norm, where = normalise(text)
        m = self.regex.search(norm)
        if m is None:
            return None
        idx = int((m.lastgroup or "p0")[1:])
        start, end = where[m.start()], where[m.end() - 1] + 1
        lo, hi = max(0, start - 10), min(len(text), end + 10)
        return Match(self.patterns[idx], start, end, text[lo:hi])
