"""Where a group's daily figures begin.

Rules:
- A series begins on the first day the bot saw the group: the day (in the group's timezone) its
  ``groups`` row was made — or an earlier day that already has counts (an event that happened
  before it was processed). A group never seen begins on the day of the bot's first start.
- Never before the day of the bot's first start on this database (``bot.first_start``): the
  bot knows nothing of earlier days, so they are absent — not zeros, and no member count is
  worked back into them. Never after today: today is always there.
- A database where the bot never started (``None``) has only today.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, first_start
from storage.models import Group
from storage.models_stats import StatsDaily


def start_day(
    config: Config,
    gid: str,
    today: date,
    *,
    seen: datetime | None,
    counted: date | None,
    started: datetime | None,
) -> date:
    """The first day of ``gid``'s series: ``seen`` (its row's ``created_at``), ``counted``
    (its earliest counted day), ``started`` (the bot's first start)."""
    tz = config.timezone(gid)
    start_of_bot = started.astimezone(tz).date() if started is not None else today
    first = seen.astimezone(tz).date() if seen is not None else start_of_bot
    if counted is not None:
        first = min(first, counted)
    return min(max(first, start_of_bot), today)


async def first_days(
    session: AsyncSession, config: Config, gids: list[str], today: dict[str, date]
) -> dict[str, date]:
    """``start_day`` of every group of ``gids``, in three statements whatever their number
    (the earliest counted day through the (group, day) key, per group)."""
    started = await first_start(session)
    seen = dict(
        (await session.execute(select(Group.id, Group.created_at).where(Group.id.in_(gids)))).all()
    )
    counted = dict(
        (
            await session.execute(
                select(StatsDaily.group_id, func.min(StatsDaily.day))
                .where(StatsDaily.group_id.in_(gids))
                .group_by(StatsDaily.group_id)
            )
        ).all()
    )
    return {
        gid: start_day(
            config,
            gid,
            today[gid],
            seen=seen.get(gid),
            counted=counted.get(gid),
            started=started,
        )
        for gid in gids
    }
