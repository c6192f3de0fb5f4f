"""Which reply a message gets — pure: no clock, no database.

Rules:
- The entries in force for a group are the config rules and FAQ entries whose targets name
  the group (its id, one of its tags, or ``all``) plus the rules its admins added from chat.
- Only entries active at the message's local time are candidates (``hours``, ``days``,
  ``start``/``end``); an inactive rule never hides an active one.
- One reply per message: the most specific candidate wins — a whole-message (``exact``) match
  over any other; then the most matched text (normalised characters: the longest keyword for
  ``any``, all keywords together for ``contains``); then the narrowest scope (a group's own
  or chat-added rule, then a tag, then ``all``); then a rule over an FAQ entry; then the
  earlier entry.
- Matching is on normalised text (``bot.normalise``) with one automaton per group's entries:
  linear in the message, whatever the number of rules.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot import GroupConfig, Patterns, normalise
from handlers.autoreply.config import AiConfig, AutoreplyConfig, FaqEntry, ReplyRule, rule_id
from schedules.model import in_quiet, parse_quiet, weekdays_of

SCOPES = {"group": 3, "tag": 2, "all": 1}
QUESTION_WORDS: tuple[str, ...] = ("吗", "么", "怎么", "怎样", "如何", "什么", "哪", "几点")
QUESTION_WORDS += ("几号", "几时", "多少", "为什么", "能不能", "可不可以", "有没有", "是否")
QUESTION_WORDS += ("是不是", "请问")
MAX_GROUNDING = 6000  # characters of FAQ and rules given to the model
MAX_ANSWER = 1500  # characters of a model answer that are posted


@dataclass(frozen=True, slots=True)
class Entry:
    """A rule, FAQ entry or chat-added rule as the matcher sees it."""

    id: str
    source: str  # "rule" | "faq" | "chat"
    match: str  # "exact" | "contains" | "any"
    keywords: tuple[str, ...]
    reply: str
    image: str = ""
    scope: int = 3
    order: int = 0
    when: ReplyRule | FaqEntry | None = None  # None: always in force
    cooldown_s: float | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    rank: tuple[int, int, int, int, int]


def scope_of(targets: list[str], group: GroupConfig | None, gid: str) -> int:
    """How narrowly ``targets`` name the group (0: not at all)."""
    tags = set(group.tags) if group else set()
    best = 0
    for t in targets:
        if t == gid:
            best = max(best, SCOPES["group"])
        elif t.startswith("tag:") and t[4:] in tags:
            best = max(best, SCOPES["tag"])
        elif t == "all":
            best = max(best, SCOPES["all"])
    return best


def entries_for(
    cfg: AutoreplyConfig, group: GroupConfig | None, gid: str, chat: list[Entry]
) -> list[Entry]:
    """The entries in force for a group, in order (config rules, FAQ, then chat rules)."""
    out: list[Entry] = []
    for r in cfg.rules:
        if scope := scope_of(r.targets, group, gid):
            kw = tuple(r.keywords)
            out.append(Entry(rule_id(r), "rule", r.match, kw, r.reply, r.image, scope, len(out), r))
    for f in cfg.faq:
        if scope := scope_of(f.targets, group, gid):
            kw = tuple(f.questions)
            out.append(Entry(rule_id(f), "faq", "any", kw, f.answer, f.image, scope, len(out), f))
    out += [replace(c, order=len(out) + i) for i, c in enumerate(chat)]
    return out


def active(when: ReplyRule | FaqEntry | None, local: datetime) -> bool:
    """Whether an entry is in force at this local time (its hours, days and dates)."""
    if when is None:
        return True
    day = local.date()
    if (when.start and day < when.start) or (when.end and day > when.end):
        return False
    if local.weekday() not in weekdays_of(when.days):
        return False
    hours = parse_quiet(when.hours)
    return hours is None or in_quiet(local.time(), hours)


class Book:
    """One group's entries, compiled: an automaton over every ``contains``/``any`` keyword
    and a table of the ``exact`` ones."""

    def __init__(self, entries: list[Entry], gap: int = 6) -> None:
        self.entries = entries
        self.exact: dict[str, list[tuple[int, int]]] = {}
        words: list[str] = []
        self.owner: list[tuple[int, int]] = []  # pattern index -> (entry index, length)
        for i, e in enumerate(entries):
            for k in e.keywords:
                norm = normalise(k.replace("*", ""))[0]
                if e.match == "exact":
                    self.exact.setdefault(norm, []).append((i, len(norm)))
                else:
                    words.append(k)
                    self.owner.append((i, len(norm)))
        self.patterns = Patterns.compile(words, gap)

    def best(self, text: str, local: datetime) -> Hit | None:
        """The most specific entry in force that matches ``text`` (see the module rules)."""
        norm = normalise(text)[0]
        if not norm:
            return None
        found: dict[int, list[tuple[int, int]]] = {}  # entry -> (pattern, length) found
        for p in self.patterns.found(norm):
            i, n = self.owner[p]
            found.setdefault(i, []).append((p, n))
        hits: list[Hit] = []
        for i, n in self.exact.get(norm, []):
            hits.append(self._hit(i, 1, n))
        for i, got in found.items():
            e = self.entries[i]
            if e.match == "any":
                hits.append(self._hit(i, 0, max(n for _, n in got)))
            elif e.match == "contains" and len(got) == len(e.keywords):
                hits.append(self._hit(i, 0, sum(n for _, n in got)))
        live = [h for h in hits if active(h.entry.when, local)]
        return max(live, key=lambda h: h.rank) if live else None

    def _hit(self, i: int, exact: int, length: int) -> Hit:
        e = self.entries[i]
        return Hit(e, (exact, length, e.scope, int(e.source != "faq"), -e.order))


class Books:
    """Compiled books, kept per (group, config, chat rules) — bounded, oldest dropped."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._books: OrderedDict[tuple[Any, ...], Book] = OrderedDict()

    def get(self, key: tuple[Any, ...], build: list[Entry] | None = None) -> Book | None:
        book = self._books.get(key)
        if book is not None:
            self._books.move_to_end(key)
        elif build is not None:
            book = self._books[key] = Book(build)
            while len(self._books) > self.size:
                self._books.popitem(last=False)
        return book


def looks_like_question(text: str) -> bool:
    """A member's message that asks something: ends with a question mark or uses a question
    word (怎么, 几点, 哪 …)."""
    t = text.strip()
    return t.endswith(("?", "？")) or any(w in t for w in QUESTION_WORDS)


def prompt(ai: AiConfig, entries: list[Entry], rules_text: str, question: str) -> list[Any]:
    """The chat messages for the model: the operator's system prompt grounded on the group's
    FAQ, keyword replies and rules; the member's words only as the user message."""
    lines: list[str] = []
    for e in entries:
        if e.when is not None and e.when.hours:  # a campaign answer is no general fact
            continue
        q = "、".join(e.keywords[:3])
        lines.append(f"问：{q}\n答：{e.reply}")
    facts = "\n\n".join(lines)
    ground = f"常见问题：\n{facts or '（无）'}\n\n群规：\n{rules_text.strip() or '（无）'}"
    system = f"{ai.system_prompt}\n\n{ground[:MAX_GROUNDING]}"
    return [{"role": "system", "content": system}, {"role": "user", "content": question[:1000]}]


def answer_of(data: Any) -> str | None:
    """The text of an OpenAI-style chat completion (``choices[0].message.content``), cut to
    ``MAX_ANSWER`` characters; None when the answer has no usable text."""
    try:
        text = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    return text if len(text) <= MAX_ANSWER else text[:MAX_ANSWER] + "…"
