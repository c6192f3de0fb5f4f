"""Read-only check-in queries for boards and other features (a session in, values out).

Rules: the boards rank by the stored totals (``today`` by check-in order); staff are left
off when the caller passes them in ``exclude``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.checkin.config import CheckinConfig
from storage.models import Member
from storage.models_checkin import Checkin, CheckinStats

BOARDS = {"today", "streak", "total", "points", "month"}


async def has_checked_in(
    session: AsyncSession, group_id: str, user_id: str, since: datetime
) -> bool:
    """True when the member has a (non-void) check-in in the group at or after ``since``."""
    found = await session.scalar(
        select(Checkin.id)
        .where(
            Checkin.group_id == group_id,
            Checkin.user_id == user_id,
            Checkin.void.is_(False),
            Checkin.at >= since,
        )
        .limit(1)
    )
    return found is not None


async def checkins_on(session: AsyncSession, group_id: str, day: date) -> list[str]:
    """User ids who checked in on the group's local ``day``, in check-in order."""
    rows = await session.scalars(
        select(Checkin.user_id)
        .where(Checkin.group_id == group_id, Checkin.day == day, Checkin.void.is_(False))
        .order_by(Checkin.at, Checkin.id)
    )
    return list(rows.all())


async def leaderboard(
    session: AsyncSession,
    group_id: str,
    board: str,
    limit: int,
    today: date,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> list[tuple[str, str, int]]:
    """(user_id, name, value) rows for board ``today|streak|total|points|month``, best first."""
    if board not in BOARDS:
        raise ValueError(f"unknown board {board}")
    name = (
        select(Member.name)
        .where(Member.group_id == group_id, Member.user_id == CheckinStats.user_id)
        .scalar_subquery()
    )
    if board == "today":  # the first ``limit`` of the day, in check-in order (a top-N sort)
        day_q = select(Checkin.user_id, Checkin.points).where(
            Checkin.group_id == group_id, Checkin.day == today, Checkin.void.is_(False)
        )
        if exclude:
            day_q = day_q.where(Checkin.user_id.not_in(sorted(exclude)))
        day_q = day_q.order_by(Checkin.at, Checkin.id).limit(limit)
        day_rows = (await session.execute(day_q)).all()
        names = await _names(session, group_id, [u for u, _ in day_rows])
        return [(u, names.get(u, u), int(p)) for u, p in day_rows]
    col = {
        "streak": CheckinStats.streak,
        "total": CheckinStats.total_days,
        "points": CheckinStats.points,
        "month": CheckinStats.season_days,
    }[board]
    q = select(CheckinStats.user_id, name, col).where(CheckinStats.group_id == group_id, col > 0)
    if board == "streak":
        q = q.where(CheckinStats.last_day >= today - timedelta(days=1))
    if board == "month":
        q = q.where(CheckinStats.season == today.strftime("%Y-%m"))
    if exclude:
        q = q.where(CheckinStats.user_id.not_in(sorted(exclude)))
    q = q.order_by(col.desc(), CheckinStats.user_id).limit(limit)
    return [(u, n or u, int(v)) for u, n, v in (await session.execute(q)).all()]


async def _names(session: AsyncSession, group_id: str, users: list[str]) -> dict[str, str]:
    if not users:
        return {}
    rows = await session.execute(
        select(Member.user_id, Member.name).where(
            Member.group_id == group_id, Member.user_id.in_(users)
        )
    )
    return {u: n for u, n in rows.all() if n}


def staff_of(cfg: CheckinConfig, group_admins: set[str], global_admins: list[str]) -> set[str]:
    """Who is left off the boards when ``exclude_staff`` is on."""
    if not cfg.exclude_staff:
        return set()
    return set(cfg.staff) | group_admins | set(global_admins)
