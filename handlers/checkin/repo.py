"""Check-in queries and writes (never commit: the unit of work does).

Rules:
- The per-member stats row is kept in step with the check-in rows inside the same
  transaction; after a void or a make-up, it is rebuilt from the rows themselves.
- Whether a member has a row for a day is decided before inserting (read in bulk for a
  dispatcher batch); the unique constraint on (group, member, day) stays the last word — a
  conflict fails the batch, and the one-event retry then finds the row.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Batch
from handlers.checkin import logic
from handlers.checkin.config import CheckinConfig
from storage.models import Member
from storage.models_checkin import Checkin, CheckinDayCount, CheckinStats

BOARDS = {"today", "streak", "total", "points", "month"}


BLANK = dict(
    total_days=0,
    streak=0,
    best_streak=0,
    points=0,
    season="",
    season_days=0,
    season_points=0,
    cards=0,
)


def _blank(group_id: str, user_id: str) -> CheckinStats:
    return CheckinStats(group_id=group_id, user_id=user_id, **BLANK)


async def stats_row(session: AsyncSession, group_id: str, user_id: str) -> CheckinStats:
    """The member's totals (a blank row, not saved, when they have none): for readers."""
    row = await session.get(CheckinStats, (group_id, user_id))
    return _blank(group_id, user_id) if row is None else row


async def stats_seen(batch: Batch, group_id: str, user_id: str) -> CheckinStats:
    """The member's totals as this batch sees them (a blank row, not saved, when none)."""
    row = await batch.get(CheckinStats, (group_id, user_id))
    return _blank(group_id, user_id) if row is None else row


async def stats_for(batch: Batch, group_id: str, user_id: str) -> CheckinStats:
    """The member's totals row for writing (created when missing)."""
    row = await batch.get(CheckinStats, (group_id, user_id))
    if row is None:
        row = batch.new(CheckinStats, group_id=group_id, user_id=user_id, **BLANK)
    stats: CheckinStats = row
    return stats


def _day_key(group_id: str, user_id: str, day: date) -> tuple[str, str, str, date]:
    return ("checkin.day", group_id, user_id, day)


async def has_row(batch: Batch, group_id: str, user_id: str, day: date) -> bool:
    """True when the member has a check-in row that day (a voided one counts: the day is used)."""

    async def load() -> bool:
        found = await batch.session.scalar(
            select(Checkin.id).where(
                Checkin.group_id == group_id, Checkin.user_id == user_id, Checkin.day == day
            )
        )
        return found is not None

    return bool(await batch.cached(_day_key(group_id, user_id, day), load))


async def preload_days(batch: Batch, keys: list[tuple[str, str, date]]) -> None:
    """Which of these (group, member, day) have a row, and the members' totals: one query each."""
    if not batch.deferred or not keys:
        return
    keys = list(dict.fromkeys(keys))
    found: set[tuple[str, str, date]] = set()
    for i in range(0, len(keys), 400):
        chunk = keys[i : i + 400]
        cols = (Checkin.group_id, Checkin.user_id, Checkin.day)
        # one IN list per column, then the exact keys (cheaper than a tuple IN)
        cond = [c.in_(sorted({k[n] for k in chunk})) for n, c in enumerate(cols)]
        rows = await batch.read(select(*cols).where(*cond))
        found.update((g, u, d) for g, u, d in rows.all())
    for g, u, d in keys:
        batch.memo.setdefault(_day_key(g, u, d), (g, u, d) in found)
    await batch.preload(CheckinStats, [(g, u) for g, u, _ in keys])
    await batch.preload(CheckinDayCount, [(g, d) for g, _, d in keys])


async def insert_checkin(
    batch: Batch,
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
) -> None:
    """Insert the day's check-in (the caller has made sure the day is free: ``has_row``)."""
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
    await batch.insert(Checkin, values)
    if batch.deferred:
        batch.memo[_day_key(group_id, user_id, day)] = True


async def next_rank(batch: Batch, group_id: str, day: date) -> int:
    """Count one more check-in on ``day`` and return its rank (1 = first of the day)."""
    row = await batch.get(CheckinDayCount, (group_id, day))
    if row is None:
        row = batch.new(CheckinDayCount, group_id=group_id, day=day, count=0)
    row.count += 1
    return int(row.count)


async def days_of(session: AsyncSession, group_id: str, user_id: str) -> set[date]:
    rows = await session.scalars(
        select(Checkin.day).where(
            Checkin.group_id == group_id, Checkin.user_id == user_id, Checkin.void.is_(False)
        )
    )
    return set(rows.all())


async def rebuild(batch: Batch, group_id: str, user_id: str, today: date) -> CheckinStats:
    """Recompute a member's totals from the check-in rows (after a void or a make-up)."""
    rows = (
        await batch.session.execute(
            select(Checkin.day, Checkin.points).where(
                Checkin.group_id == group_id, Checkin.user_id == user_id, Checkin.void.is_(False)
            )
        )
    ).all()
    days = {d for d, _ in rows}
    st = await stats_for(batch, group_id, user_id)
    season = today.strftime("%Y-%m")
    st.total_days = len(days)
    st.last_day = max(days) if days else None
    st.streak = logic.run_ending_at(days, st.last_day) if st.last_day else 0
    st.best_streak = logic.best_streak(days)
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
