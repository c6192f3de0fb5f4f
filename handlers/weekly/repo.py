"""The weekly summary's table (``weekly_posts``): which weeks were posted, and the reads the
summary is made of.

Rules: a week is claimed once — the week is the primary key (``Repository._claim``), so a
second claim, here or on another instance, finds it taken and posts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot import Config, Repository
from handlers.weekly.report import Report, weekly_report
from handlers.weekly.weeks import Week
from storage.models_weekly import WeeklyPost


@dataclass(frozen=True, slots=True)
class Posted:
    week: str
    due_at: datetime
    posted_at: datetime
    targets: tuple[str, ...]


class WeeklyPosts(Repository):
    async def posted(self, week: str) -> Posted | None:
        """The record of ``week``'s post, or None when it was not posted."""
        row = (await self._query(select(WeeklyPost).where(WeeklyPost.week == week))).scalar()
        if row is None:
            return None
        return Posted(row.week, row.due_at, row.posted_at, tuple(row.targets))

    async def claim(self, week: str, due_at: datetime, now: datetime, targets: list[str]) -> bool:
        """Record ``week`` as posted; True for the one caller that recorded it."""
        row = {
            "week": week,
            "due_at": due_at,
            "posted_at": now,
            "targets": targets,
        }
        return await self._claim(WeeklyPost, row, ["week"])

    async def report(self, config: Config, now: datetime, week: Week) -> Report:
        """``week``'s summary, read from the stored data (``handlers.weekly.report``)."""
        return await weekly_report(self._db, config, now, week)
