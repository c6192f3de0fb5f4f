"""One week's summary: the matrix of that week beside the matrix of the week before.

Rules:
- Both weeks are read from the stored data each time (``handlers.matrix.build`` over Monday to
  Sunday): a summary is never cached, and the post and the download of a week are made by this
  one function, so they give the same figures.
- Groups: every group the matrix knows; with ``[weekly] tags`` only the groups carrying one of
  them. Each group is counted under its tags as they are now, in both weeks.
- Sections: the total over those groups, then one per tag (``[weekly] tags`` in their order,
  else every tag the groups carry, first seen first). A section's figures are the matrix's
  subtotals: counts added up, rates worked out from the sums.
- Week-over-week change: this week's figure minus last week's (rates in fraction points).
- Ranking: the groups with members at the end of the week, by ``[weekly] rank_by``, the
  ``top`` highest and then the ``top`` lowest of the rest (ties keep the matrix's order).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config
from handlers.matrix import Row, build, change, subtotal
from handlers.weekly.config import WeeklyConfig
from handlers.weekly.weeks import Week


@dataclass(frozen=True)
class Figures:
    """This week's figures, last week's and the change, for a section or a group."""

    now: dict[str, Any]
    before: dict[str, Any]

    @property
    def change(self) -> dict[str, Any]:
        return change(self.now, self.before)

    def as_dict(self) -> dict[str, Any]:
        return {"figures": self.now, "before": self.before, "change": self.change}


@dataclass(frozen=True)
class Section:
    tag: str  # "" for the total
    groups: int
    figures: Figures

    def as_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "groups": self.groups, **self.figures.as_dict()}


@dataclass(frozen=True)
class GroupLine:
    id: str
    name: str
    tags: tuple[str, ...]
    figures: Figures

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "tags": list(self.tags), **self.figures.as_dict()}

    def ranked(self, key: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "value": self.figures.now[key],
            "change": self.figures.change[key],
        }


@dataclass(frozen=True)
class Report:
    week: Week
    total: Section
    by_tag: tuple[Section, ...]
    groups: tuple[GroupLine, ...]
    rank_by: str
    top: tuple[GroupLine, ...]
    bottom: tuple[GroupLine, ...]

    def as_dict(self) -> dict[str, Any]:
        w, p = self.week, self.week.previous
        return {
            "week": w.name,
            "first": w.monday.isoformat(),
            "last": w.sunday.isoformat(),
            "previous": {
                "week": p.name,
                "first": p.monday.isoformat(),
                "last": p.sunday.isoformat(),
            },
            "total": self.total.as_dict(),
            "by_tag": [s.as_dict() for s in self.by_tag],
            "groups": [g.as_dict() for g in self.groups],
            "rank_by": self.rank_by,
            "top": [g.ranked(self.rank_by) for g in self.top],
            "bottom": [g.ranked(self.rank_by) for g in self.bottom],
        }


def _section(tag: str, now: Iterable[Row], before: dict[str, Row]) -> Section:
    rows = list(now)
    cur = subtotal(r.counts for r in rows)
    old = subtotal(before[r.id].counts for r in rows if r.id in before)
    n = cur.pop("groups")
    old.pop("groups")
    return Section(tag, n, Figures(cur, old))


def rank(groups: list[GroupLine], key: str, top: int) -> tuple[list[GroupLine], list[GroupLine]]:
    """(highest, lowest of the rest) by ``key`` (module rules)."""
    alive = [g for g in groups if g.figures.now["members"] > 0]
    high = sorted(alive, key=lambda g: g.figures.now[key], reverse=True)[:top]
    taken = {g.id for g in high}
    low = [g for g in sorted(alive, key=lambda g: g.figures.now[key]) if g.id not in taken]
    return high, low[:top]


async def weekly_report(session: AsyncSession, config: Config, now: datetime, week: Week) -> Report:
    """The summary of ``week`` against the week before (module rules)."""
    cfg = config.feature(WeeklyConfig)
    cur = await build(session, config, now, days=7, last_day=week.sunday)
    prev = await build(session, config, now, days=7, last_day=week.previous.sunday)
    before = {r.id: r for r in prev.rows}
    wanted = set(cfg.tags)
    rows = [r for r in cur.rows if not wanted or wanted & set(r.tags)]
    tags = list(cfg.tags) or list(dict.fromkeys(t for r in rows for t in r.tags))
    groups = [
        GroupLine(r.id, r.name, r.tags, Figures(r.figures, before[r.id].figures))
        for r in rows
        if r.id in before
    ]
    high, low = rank(groups, cfg.rank_by, cfg.top)
    return Report(
        week=week,
        total=_section("", rows, before),
        by_tag=tuple(_section(t, (r for r in rows if t in r.tags), before) for t in tags),
        groups=tuple(groups),
        rank_by=cfg.rank_by,
        top=tuple(high),
        bottom=tuple(low),
    )


__all__ = ["Figures", "GroupLine", "Report", "Section", "weekly_report"]
