"""Check-in queries and writes (never commit: the unit of work does).

Rule: the per-member stats row is kept in step with the check-in rows inside the same
transaction; after a void or a make-up, it is rebuilt from the rows themselves.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.checkin import rules
from handlers.checkin.config import CheckinConfig
from storage.dialect import insert, insert_ignore
from storage.models import Member
from storage.models_checkin import Checkin, CheckinDayCount, CheckinStats

BOARDS = {"today", "streak", "total", "points", "month"}


async def stats_row(session: AsyncSession, group_id: str, user_id: str) -> CheckinStats:
    row = await session.get(CheckinStats, (group_id, user_id))
    if row is None:
        row = CheckinStats(
            group_id=group_id,
            user_id=user_id,
            total_days=0,
            streak=0,
            best_streak=0,
            points=0,
            season="",
            season_days=0,
            season_points=0,
            cards=0,
        )
        session.add(row)
    return row


async def insert_checkin(
    session: AsyncSession,
    *,
    group_id: str,
    user_id: str,
    day: date,
    at: datetime,
    points: int,
    streak: int,
    content: str = "",
    image_url: str = "",
    makeup: bool = False,
    event_id: int | None = None,
) -> bool:
    """Insert the day's check-in; False when the member already has one that day."""
    table = Checkin.__table__
    stmt = insert_ignore(session, table, ["group_id", "user_id", "day"]).returning(table.c.id)
    values = dict(
        group_id=group_id,
        user_id=user_id,
        day=day,
        at=at,
        points=points,
        streak=streak,
        content=content[:2000],
        image_url=image_url[:1000],
        makeup=makeup,
        void=False,
        event_id=event_id,
    )
    return (await session.execute(stmt, [values])).scalar() is not None


async def next_rank(session: AsyncSession, group_id: str, day: date) -> int:
    """Count one more check-in on ``day`` and return its rank (1 = first of the day)."""
    table = CheckinDayCount.__table__
    stmt = (
        insert(session, table)
        .on_conflict_do_update(
            index_elements=["group_id", "day"], set_={"count": table.c.count + 1}
        )
        .returning(table.c.count)
    )
    return int(
        (await session.execute(stmt, [{"group_id": group_id, "day": day, "count": 1}])).scalar_one()
    )


async def days_of(session: AsyncSession, group_id: str, user_id: str) -> set[date]:
    rows = await session.scalars(
        select(Checkin.day).where(
            Checkin.group_id == group_id, Checkin.user_id == user_id, Checkin.void.is_(False)
        )
    )
    return set(rows.all())


async def rebuild(session: AsyncSession, group_id: str, user_id: str, today: date) -> CheckinStats:
    """Recompute a member's totals from the check-in rows (after a void or a make-up)."""
    rows = (
        await session.execute(
            select(Checkin.day, Checkin.points).where(
                Checkin.group_id == group_id, Checkin.user_id == user_id, Checkin.void.is_(False)
            )
        )
    ).all()
    days = {d for d, _ in rows}
    st = await stats_row(session, group_id, user_id)
    season = today.strftime("%Y-%m")
    st.total_days = len(days)
    st.last_day = max(days) if days else None
    st.streak = rules.run_ending_at(days, st.last_day) if st.last_day else 0
    st.best_streak = rules.best_streak(days)
    st.points = sum(p for _, p in rows)
    st.season = season
    st.season_days = sum(1 for d, _ in rows if d.strftime("%Y-%m") == season)
    st.season_points = sum(p for d, p in rows if d.strftime("%Y-%m") == season)
    return st


def roll_season(st: CheckinStats, day: date) -> None:
    season = day.strftime("%Y-%m")
    if st.season != season:
        st.season, st.season_days, st.season_points = season, 0, 0


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
    if board == "today":
        day_rows = await session.execute(
            select(Checkin.user_id, Checkin.points)
            .where(Checkin.group_id == group_id, Checkin.day == today, Checkin.void.is_(False))
            .order_by(Checkin.at, Checkin.id)
        )
        out = [(u, "", int(p)) for u, p in day_rows.all() if u not in exclude][:limit]
        names = await _names(session, group_id, [u for u, _, _ in out])
        return [(u, names.get(u, u), v) for u, _, v in out]
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
