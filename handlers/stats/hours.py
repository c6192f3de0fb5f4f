"""Activity by the hour and over recent days, for features that judge or measure a group's
liveliness (``handlers.activation``), and the pruning of the hourly rows.

Rules:
- An hour is a group's local clock hour (``hour_of``); its figures are the messages counted
  in it and the distinct members who spoke in it (``stats_hourly``), the bot never counted.
- Recent activity is over the ``days`` whole local days before today (today is not over):
  the messages of ``stats_daily``, the distinct members who spoke (``stats_activity``) and
  the members in the group now.
- Hourly rows older than ``[stats] hourly_days`` are deleted by the ``stats-hourly-prune``
  job (leader only, outside any event); a deletion repeated deletes nothing more.
- Cost: one statement per figure (and per timezone for recent activity), grouped by group
  in the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config
from handlers.stats.config import StatsConfig
from storage.models import Member
from storage.models_stats import StatsActivity, StatsDaily, StatsHourly

if TYPE_CHECKING:
    from bot import Bot

PRUNE_EVERY_S = 3600


@dataclass(frozen=True)
class HourFigures:
    messages: int = 0
    active: int = 0


@dataclass(frozen=True)
class RecentActivity:
    days: int
    messages: int = 0
    active: int = 0  # distinct members who spoke over the days
    members: int = 0  # in the group now

    @property
    def per_day(self) -> float:
        return self.messages / self.days if self.days else 0.0

    @property
    def active_rate(self) -> float:
        return self.active / self.members if self.members else 0.0


async def hour_figures(
    session: AsyncSession, wanted: Iterable[tuple[str, datetime]]
) -> dict[tuple[str, datetime], HourFigures]:
    """Each (group, hour start) asked for: its messages and active members (zeros when
    nobody spoke)."""
    pairs = set(wanted)
    if not pairs:
        return {}
    h = StatsHourly
    q = (
        select(h.group_id, h.hour, func.sum(h.messages), func.count())
        .where(h.group_id.in_({g for g, _ in pairs}), h.hour.in_({t for _, t in pairs}))
        .group_by(h.group_id, h.hour)
    )
    found = {(g, t): HourFigures(int(m or 0), int(n)) for g, t, m, n in (await session.execute(q))}
    return {p: found.get(p, HourFigures()) for p in pairs}


async def recent_activity(
    session: AsyncSession, config: Config, gids: Sequence[str], days: int, now: datetime
) -> dict[str, RecentActivity]:
    """Each group's activity over the ``days`` whole local days before today."""
    zones: dict[str, list[str]] = {}
    for gid in gids:
        zones.setdefault(str(config.timezone(gid)), []).append(gid)
    msgs: dict[str, int] = {}
    active: dict[str, int] = {}
    for ids in zones.values():
        today = now.astimezone(config.timezone(ids[0])).date()
        first, last = today - timedelta(days=days), today - timedelta(days=1)
        sd, act = StatsDaily, StatsActivity
        q = (
            select(sd.group_id, func.sum(sd.messages))
            .where(sd.group_id.in_(ids), sd.day >= first, sd.day <= last)
            .group_by(sd.group_id)
        )
        msgs.update({g: int(n or 0) for g, n in await session.execute(q)})
        q = (
            select(act.group_id, func.count(func.distinct(act.user_id)))
            .where(act.group_id.in_(ids), act.day >= first, act.day <= last)
            .group_by(act.group_id)
        )
        active.update({g: int(n or 0) for g, n in await session.execute(q)})
    q = (
        select(Member.group_id, func.count())
        .where(Member.group_id.in_(list(gids)), Member.in_group)
        .group_by(Member.group_id)
    )
    members = {g: int(n) for g, n in await session.execute(q)}
    return {
        g: RecentActivity(days, msgs.get(g, 0), active.get(g, 0), members.get(g, 0)) for g in gids
    }


async def prune_hourly(bot: Bot) -> None:
    """The job: delete the hourly rows older than ``[stats] hourly_days``."""
    keep = bot.config.feature(StatsConfig, None).hourly_days
    cutoff = bot.clock.now() - timedelta(days=keep)
    async with bot.db.transaction() as s:
        await s.execute(delete(StatsHourly).where(StatsHourly.hour < cutoff))
