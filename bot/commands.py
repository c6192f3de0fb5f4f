"""Chat commands: parsing, aliases and the registry that ``/帮助`` is built from.

Rules:
- A command starts with ``/`` or the full-width ``／`` (after an optional leading @mention of
  the bot, which the adapters or this parser strip); the name ends at the first space.
- Chinese and English aliases name the same command (``/帮助`` = ``/help``).
- ``@someone`` tokens in the arguments are mentions; platform mention segments come first.
- Each command declares who may run it: member, admin, owner or global admin.
- A numeric argument is read with ``number``: digits (ASCII or full-width) with an optional
  sign, at most ``MAX_DIGITS`` of them, within the command's range — anything else is None and
  the command answers with its usage. A number never reaches the database unbounded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from bot.dispatch.context import Context

PREFIXES = ("/", "／")
_AT = re.compile(r"@(\S+)")
# every number a command takes fits a 32-bit column on every database
MAX_NUMBER = 1_000_000_000
MAX_DIGITS = 10
_NUMBER = re.compile(rf"[+-]?[0-9]{{1,{MAX_DIGITS}}}")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋－", "0123456789+-")


class Role(IntEnum):
    """Who is speaking. Higher ranks may do everything lower ranks may."""

    MEMBER = 0
    ADMIN = 1
    OWNER = 2
    GLOBAL_ADMIN = 3

    @property
    def label(self) -> str:
        return {0: "成员", 1: "管理员", 2: "群主", 3: "超级管理员"}[int(self)]


class CommandOptions(TypedDict, total=False):
    """Keyword options that several command registrations share (``**ADMIN``)."""

    role: Role
    filters: tuple[Callable[[Context], bool], ...]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A registered command."""

    name: str
    aliases: tuple[str, ...]
    help: str
    role: Role = Role.MEMBER
    usage: str = ""
    private_ok: bool = False  # may be used in a private chat with the bot


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command line."""

    name: str  # the canonical name, or the typed word when unknown
    typed: str
    args: tuple[str, ...] = ()
    raw_args: str = ""
    mentions: tuple[str, ...] = ()
    known: bool = True
    spec: CommandSpec | None = field(default=None, compare=False)

    @property
    def words(self) -> tuple[str, ...]:
        """The arguments without ``@mention`` tokens."""
        return tuple(a for a in self.args if not a.startswith("@"))


class Registry:
    """All commands by name and alias."""

    def __init__(self) -> None:
        self.specs: dict[str, CommandSpec] = {}
        self._index: dict[str, str] = {}

    def add(self, spec: CommandSpec) -> None:
        for word in (spec.name, *spec.aliases):
            key = word.casefold()
            if key in self._index:
                raise ValueError(f"command word {word!r} registered twice")
            self._index[key] = spec.name
        self.specs[spec.name] = spec

    def resolve(self, word: str) -> CommandSpec | None:
        name = self._index.get(word.casefold())
        return self.specs[name] if name else None


def number(word: str, lo: int = -MAX_NUMBER, hi: int = MAX_NUMBER) -> int | None:
    """``word`` as an integer in ``[lo, hi]``, or None (not a plain number, too long, out of
    range) — the caller then answers with its usage instead of failing the event."""
    w = word.strip().lstrip("#＃").translate(_FULL_WIDTH)
    if not _NUMBER.fullmatch(w):
        return None
    n = int(w)
    return n if lo <= n <= hi else None


def strip_mention(text: str, bot_names: tuple[str, ...] = ()) -> str:
    """Drop a leading ``@BotName`` (aibot puts it inside the text)."""
    t = text.lstrip()
    for name in bot_names:
        if name and t.startswith("@" + name):
            return t[len(name) + 1 :].lstrip()
    if t.startswith("@") and any(t.find(p) > 0 for p in PREFIXES):
        _head, _, rest = t.partition(" ")
        if rest.lstrip().startswith(PREFIXES):
            return rest.lstrip()
    return t


def parse(
    text: str,
    registry: Registry,
    mentions: tuple[str, ...] = (),
    bot_names: tuple[str, ...] = (),
) -> Command | None:
    """A Command when ``text`` is a command line, else None."""
    t = strip_mention(text, bot_names)
    if not t.startswith(PREFIXES):
        return None
    body = t[1:].strip()
    if not body:
        return None
    word, _, rest = body.partition(" ")
    if len(word) > 32:
        return None
    rest = rest.strip()
    args = tuple(a for a in rest.split() if a)
    text_mentions = tuple(m.group(1) for m in _AT.finditer(rest))
    all_mentions = tuple(dict.fromkeys((*mentions, *text_mentions)))
    spec = registry.resolve(word)
    return Command(
        name=spec.name if spec else word,
        typed=word,
        args=args,
        raw_args=rest,
        mentions=all_mentions,
        known=spec is not None,
        spec=spec,
    )
