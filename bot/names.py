"""Member names the bot repeats (check-in replies, boards, greetings, reports).

Rules:
- A name is one line: only its first non-empty line is kept (a newline could forge a second
  line such as a fake "📢 管理员公告"); control and format characters (bidi overrides,
  zero-width joiners) go, runs of spaces become one.
- At most ``MAX_NAME`` characters, the cut marked with "…".
- A name that a registered check calls an ad (the rules feature registers its ad detection,
  the same as for messages) is shown masked as "成员" + the last four characters of the id.
- Applied once, where the member read model takes the name in (bot/dispatch/tracking.py);
  everything that shows names reads them from there.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable

from bot.state import StateKey

MAX_NAME = 24
NameCheck = Callable[[str], bool]  # True: the name looks like an ad
NAME_CHECKS: StateKey[list[NameCheck]] = StateKey("names.checks", list)


def masked(user_id: str) -> str:
    """The stand-in for a name that cannot be shown."""
    return "成员" + (user_id[-4:] or "?")


def _clean(line: str) -> str:
    kept = "".join(ch for ch in line if unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(kept.split())


def display_name(raw: str, user_id: str, checks: Iterable[NameCheck] = ()) -> str:
    """The name to store and repeat for ``raw`` (see the rules above); "" when empty."""
    if raw.isprintable():  # the usual name: no line break, control or format character
        lines = [" ".join(raw.split())]
    else:
        lines = [_clean(line) for line in raw.splitlines()]
    if any(check(" ".join(lines)) for check in checks):
        return masked(user_id)
    first = next((line for line in lines if line), "")
    return first if len(first) <= MAX_NAME else first[: MAX_NAME - 1] + "…"
