"""The matrix's rows: a group's counts with the rates worked out from them, and subtotals.

Rules (each rate is a fraction from 0 to 1, rounded to 4 places; 0 when its base is 0):
- ``net_growth`` = joins − leaves;
- ``leave_rate`` = leaves / (members + leaves): of everyone who was in the group during the
  window (those still there at its end, and those who left), the share who left;
- ``active_rate`` = active / members, ``checkin_rate`` = checked_in / members,
  ``post_reach`` = reached / members (members at the end of the window; a member who left
  after speaking still counts, so a rate may pass 1 in a group that shrank);
- a subtotal adds up the counts of its groups and works its rates out from those sums (never
  an average of the groups' rates). A group with several tags is in each tag's subtotal once;
  the overall total counts every group once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from handlers.matrix.figures import COUNT_FIELDS, Counts

RATES = ("leave_rate", "active_rate", "checkin_rate", "post_reach")
# the columns of a row, in the order of the API, the page and the export
FIGURES = (
    "members",
    "net_growth",
    "joins",
    "leaves",
    "leave_rate",
    "active",
    "active_rate",
    "checked_in",
    "checkin_rate",
    "posts",
    "reached",
    "post_reach",
    "valid_invites",
    "dead_letters",
)
LABELS = {
    "members": "成员",
    "net_growth": "净增",
    "joins": "入群",
    "leaves": "退群",
    "leave_rate": "退群率",
    "active": "活跃成员",
    "active_rate": "活跃率",
    "checked_in": "签到人数",
    "checkin_rate": "签到率",
    "posts": "节目帖",
    "reached": "触达人数",
    "post_reach": "帖子触达率",
    "valid_invites": "有效邀请",
    "dead_letters": "发送失败",
}


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole > 0 else 0.0


def figures(c: Counts) -> dict[str, Any]:
    """The row's figures (module rules), keyed as ``FIGURES``."""
    out: dict[str, Any] = {f: getattr(c, f) for f in COUNT_FIELDS}
    out["net_growth"] = c.joins - c.leaves
    out["leave_rate"] = _ratio(c.leaves, c.members + c.leaves)
    out["active_rate"] = _ratio(c.active, c.members)
    out["checkin_rate"] = _ratio(c.checked_in, c.members)
    out["post_reach"] = _ratio(c.reached, c.members)
    return {f: out[f] for f in FIGURES}


def total(counts: Iterable[Counts]) -> Counts:
    """The counts added up."""
    out = Counts()
    for c in counts:
        out.add(c)
    return out


def subtotal(counts: Iterable[Counts]) -> dict[str, Any]:
    """The figures of the groups together, with ``groups`` (how many)."""
    listed = list(counts)
    return {"groups": len(listed), **figures(total(listed))}


def change(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """Week-over-week: each figure's difference (rates in fraction points)."""
    return {f: round(now[f] - before[f], 4) if f in RATES else now[f] - before[f] for f in FIGURES}
