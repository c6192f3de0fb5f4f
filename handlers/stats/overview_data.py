"""The overview's figures for a page of groups at once, in a fixed number of statements.

Rules: the same figures as ``daily_series`` gives per group (``members``, ``joins``,
``leaves``, ``messages``, ``active_members``, ``checkins``; the overview shows no invites or
posts), each group on its own calendar days from its own first day (``span.start_day``). Each
table is read once for the given groups (through its group index) over the union of their date
ranges (groups in timezones a day apart overlap but for a day), so the number of statements
does not grow with the number of groups and nothing of the other groups is read.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config
from handlers.stats.daily import DayStats, fill_members, today_of
from handlers.stats.span import first_days
from storage.models import Member
from storage.models_checkin import Checkin
from storage.models_stats import StatsActivity, StatsDaily


def _day(value: object) -> date:
    # a union's column comes back as text on SQLite
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def overview_series(
    session: AsyncSession, config: Config, gids: list[str], days: int, now: datetime
) -> dict[str, list[DayStats]]:
    """``days`` days of figures for each of ``gids``, ending on each group's today."""
    if not gids:
        return {}
    today = {gid: today_of(config, gid, now) for gid in gids}
    starts = await first_days(session, config, gids, today)
    bounds = {
        gid: (max(last - timedelta(days=days - 1), starts[gid]), last)
        for gid, last in today.items()
    }
    lo = min(f for f, _ in bounds.values())
    hi = max(last for _, last in bounds.values())
    out: dict[str, dict[date, DayStats]] = {
        gid: {
            f + timedelta(days=i): DayStats((f + timedelta(days=i)).isoformat())
            for i in range((last - f).days + 1)
        }
        for gid, (f, last) in bounds.items()
    }
    snaps: dict[str, dict[date, int]] = {gid: {} for gid in gids}
    before: dict[str, tuple[date, int]] = {}

    def snapshot_before(gid: str, day: date, members: int) -> None:
        if gid in before and before[gid][0] >= day:
            return
        before[gid] = (day, members)

    sd = StatsDaily
    rows = await session.execute(
        select(sd.group_id, sd.day, sd.joins, sd.leaves, sd.messages, sd.members).where(
            sd.group_id.in_(gids), sd.day >= lo, sd.day <= hi
        )
    )
    for gid, day, joins, leaves, messages, members in rows.all():
        if gid not in out:
            continue
        if (d := out[gid].get(day)) is not None:
            d.joins, d.leaves, d.messages = joins, leaves, messages
            if members is not None:
                snaps[gid][day] = members
        elif members is not None and day < bounds[gid][0]:
            snapshot_before(gid, day, members)  # a group whose days start after ``lo``
    latest = (
        select(sd.group_id, func.max(sd.day).label("day"))
        .where(sd.group_id.in_(gids), sd.day < lo, sd.members.is_not(None))
        .group_by(sd.group_id)
        .subquery()
    )
    snapshots = await session.execute(
        select(sd.group_id, sd.day, sd.members).join(
            latest, and_(sd.group_id == latest.c.group_id, sd.day == latest.c.day)
        )
    )
    for gid, day, members in snapshots.all():
        if gid in out and members is not None:
            snapshot_before(gid, day, members)
    counts = dict(
        (
            await session.execute(
                select(Member.group_id, func.count())
                .where(Member.group_id.in_(gids), Member.in_group)
                .group_by(Member.group_id)
            )
        ).all()
    )
    for gid in gids:
        b = before.get(gid)
        fill_members(out[gid], snaps[gid], b[1] if b else None, int(counts.get(gid, 0)))
    act = StatsActivity
    spoke = select(act.group_id, act.day, act.user_id).where(
        act.group_id.in_(gids), act.day >= lo, act.day <= hi
    )
    ck = Checkin
    checked = select(ck.group_id, ck.day, ck.user_id).where(
        ck.group_id.in_(gids), ck.day >= lo, ck.day <= hi, ~ck.void, ~ck.makeup
    )
    both = union(spoke, checked).subquery()
    active = await session.execute(
        select(both.c.group_id, both.c.day, func.count()).group_by(both.c.group_id, both.c.day)
    )
    for gid, day, n in active.all():
        if gid in out and (d := out[gid].get(_day(day))) is not None:
            d.active_members = int(n)
    checkins = await session.execute(
        select(ck.group_id, ck.day, func.count())
        .where(ck.group_id.in_(gids), ck.day >= lo, ck.day <= hi, ~ck.void)
        .group_by(ck.group_id, ck.day)
    )
    for gid, day, n in checkins.all():
        if gid in out and (d := out[gid].get(_day(day))) is not None:
            d.checkins = int(n)
    return {gid: [series[d] for d in sorted(series)] for gid, series in out.items()}
