"""Every group's figures added up per date: the overview's cards and trends.

Rules:
- A date's totals add up each group's figures for that date (a group's own local date, as in
  its series): members at the end of the day (worked out as ``daily_series`` does), joins,
  leaves, messages, active members (spoke, or checked in without a make-up) and check-ins.
- A date costs one statement whatever the number of groups: index seeks per group for the
  member count, index ranges of that date for the rest; nothing is read row by row in Python.
- Dates that have ended in every timezone in use are kept in ``stats_totals`` by a job on the
  scheduler leader (every ``EVERY_S``). A missing date is computed at once; during the two days
  after a date ended everywhere (late events) its figures are renewed when an hour old, later
  when a day old (a check-in voided afterwards shows within a day). The overview computes only
  the dates still going (and any missing one) on the spot.
- Derived data: computing a date again writes the same figures, so instances may race.
- As in each group's series (``span``): a group adds its member count to a date only from its
  first day on (the local day it was first seen, or an earlier counted day), and the overview
  has no date before the bot's first start — never a count worked back into days the bot
  knows nothing of.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot import Bot, Config, first_start
from storage.dialect import dialect_name, insert, plan_each_read
from storage.models import Group, Member
from storage.models_checkin import Checkin
from storage.models_stats import StatsActivity, StatsDaily, StatsTotals
from storage.types import UTCDateTime

EVERY_S = 600  # the job looks this often; a date is computed when due (module rules)
RECENT = timedelta(days=2)  # after a date ended: its figures are renewed when an hour old
RENEW_RECENT = timedelta(hours=1)
RENEW_OLDER = timedelta(days=1)  # older dates: renewed when their figures are a day old
KEEP_DAYS = 31  # the overview's 30 dates, and yesterday's in a timezone ahead
FAR = date(9999, 12, 31)


@dataclass
class DayTotals:
    day: date
    members: int = 0
    joins: int = 0
    leaves: int = 0
    messages: int = 0
    active_members: int = 0
    checkins: int = 0


FIGURES = [f.name for f in fields(DayTotals) if f.name != "day"]


def _day_end(config: Config, day: date) -> Any:
    """The end of ``day`` in each group's timezone, as a UTC time (a CASE on the few groups
    configured in another timezone than the bot's)."""

    def end(tz: ZoneInfo) -> datetime:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)

    default = config.timezone(None)
    by_zone: dict[str, list[str]] = {}
    for g in config.groups:
        if config.timezone(g.id) != default:
            by_zone.setdefault(str(config.timezone(g.id)), []).append(g.id)
    if not by_zone:
        return literal(end(default), UTCDateTime())
    whens = [
        (Group.id.in_(ids), literal(end(ZoneInfo(z)), UTCDateTime())) for z, ids in by_zone.items()
    ]
    return case(*whens, else_=literal(end(default), UTCDateTime()))


def _seen_by(config: Config, day: date) -> Any:
    """The group's first day is ``day`` or earlier: seen by its end, or counted by then."""
    sd = aliased(StatsDaily)
    counted = exists().where(sd.group_id == Group.id, sd.day <= day).correlate(Group)
    return or_(Group.created_at < _day_end(config, day), counted)


def _members_on(config: Config, day: date) -> Any:
    """Sum over groups of the member count at the end of ``day``: the latest count written on
    or before it; else worked back from the next count written (or today's live count) by
    undoing the joins and leaves in between, never below zero — for the groups whose first
    day is ``day`` or earlier."""
    at, nxt, nxt_day, between = (aliased(StatsDaily) for _ in range(4))
    counted = at.members.is_not(None)
    last = (
        select(at.members)
        .where(at.group_id == Group.id, counted, at.day <= day)
        .order_by(at.day.desc())
        .limit(1)
        .correlate(Group)
        .scalar_subquery()
    )
    after = (nxt.group_id == Group.id, nxt.members.is_not(None), nxt.day > day)
    next_count = (
        select(nxt.members).where(*after).order_by(nxt.day).limit(1).correlate(Group)
    ).scalar_subquery()
    next_day = (
        select(func.min(nxt_day.day))
        .where(nxt_day.group_id == Group.id, nxt_day.members.is_not(None), nxt_day.day > day)
        .correlate(Group)
        .scalar_subquery()
    )
    now_count = (
        select(func.count())
        .select_from(Member)
        .where(Member.group_id == Group.id, Member.in_group)
        .correlate(Group)
        .scalar_subquery()
    )
    net = (
        select(func.coalesce(func.sum(between.joins - between.leaves), 0))
        .where(
            between.group_id == Group.id,
            between.day > day,
            between.day <= func.coalesce(next_day, FAR),
        )
        .correlate(Group)
        .scalar_subquery()
    )
    back: ColumnElement[int] = func.coalesce(next_count, now_count) - net
    value = func.coalesce(last, case((back > 0, back), else_=0))
    total = select(func.coalesce(func.sum(value), 0)).select_from(Group)
    return total.where(_seen_by(config, day)).scalar_subquery()


def _day_statement(config: Config, day: date, merge: bool) -> Any:
    sd, act, ck = StatsDaily, StatsActivity, Checkin
    counters = (
        select(
            func.coalesce(func.sum(sd.joins), 0).label("joins"),
            func.coalesce(func.sum(sd.leaves), 0).label("leaves"),
            func.coalesce(func.sum(sd.messages), 0).label("messages"),
        )
        .where(sd.day == day)
        .subquery()
    )
    spoke = select(act.group_id, act.user_id).where(act.day == day)
    checked = (ck.day == day, ~ck.void, ~ck.makeup)
    if merge:
        # SQLite: both sides come in (group, member) order from their indexes, and asking for
        # that order makes the union a merge instead of a temporary table
        both = union(spoke, select(ck.group_id, ck.user_id).where(*checked))
        active = select(func.count()).select_from(both.order_by("group_id", "user_id").subquery())
    else:
        # PostgreSQL: the speakers, and the members who only checked in (an anti-join)
        also = aliased(StatsActivity)
        spoke_too = exists().where(
            also.day == ck.day, also.group_id == ck.group_id, also.user_id == ck.user_id
        )
        only_checked = select(func.count()).select_from(ck).where(*checked, ~spoke_too)
        spoke_n = select(func.count()).select_from(spoke.subquery())
        active = select(spoke_n.scalar_subquery() + only_checked.scalar_subquery())
    checkins = select(func.count()).select_from(ck).where(ck.day == day, ~ck.void)
    return select(
        _members_on(config, day),
        counters.c.joins,
        counters.c.leaves,
        counters.c.messages,
        active.scalar_subquery(),
        checkins.scalar_subquery(),
    ).select_from(counters)


async def totals_on(session: AsyncSession, config: Config, day: date) -> DayTotals:
    """``day``'s totals, computed now (one statement)."""
    merge = dialect_name(session) == "sqlite"
    row = (await session.execute(_day_statement(config, day, merge))).one()
    return DayTotals(day, *(int(v or 0) for v in row))


def last_day(config: Config, now: datetime) -> date:
    """The overview's last date: today in the bot's timezone."""
    return now.astimezone(config.timezone(None)).date()


def first_open_day(config: Config, now: datetime) -> date:
    """The earliest date still going in some timezone in use (dates before it have ended
    everywhere)."""
    zones = {config.timezone(None), *(config.timezone(g.id) for g in config.groups)}
    return min(now.astimezone(tz).date() for tz in zones)


async def totals_series(
    session: AsyncSession, config: Config, now: datetime, days: int
) -> list[DayTotals]:
    """The totals of the ``days`` dates ending today, oldest first — none before the bot's
    first start: kept ones for dates that have ended everywhere, the others computed now."""
    last = last_day(config, now)
    started = await first_start(session)
    begin = started.astimezone(config.timezone(None)).date() if started is not None else last
    dates = [last - timedelta(days=days - 1 - i) for i in range(days)]
    dates = [d for d in dates if d >= min(begin, last)]
    open_from = first_open_day(config, now)
    kept = {
        r.day: r
        for r in await session.scalars(
            select(StatsTotals).where(StatsTotals.day >= dates[0], StatsTotals.day < open_from)
        )
    }
    out = []
    for d in dates:
        r = kept.get(d)
        if r is not None:
            out.append(DayTotals(d, *(getattr(r, f) for f in FIGURES)))
        else:
            out.append(await totals_on(session, config, d))
    return out


async def active_groups(session: AsyncSession, first: date, last: date) -> int:
    """Groups in which someone spoke from ``first`` to ``last`` (one index seek per group)."""
    sd = StatsDaily
    # written out (not a parameter) so that SQLite sees the partial index's own condition
    spoke = exists().where(
        sd.group_id == Group.id, sd.day >= first, sd.day <= last, sd.messages > literal_column("0")
    )
    return int(await session.scalar(select(func.count()).select_from(Group).where(spoke)) or 0)


def _due(day: date, computed_at: datetime | None, open_from: date, now: datetime) -> bool:
    if computed_at is None:
        return True
    age = now - computed_at
    return age >= (RENEW_RECENT if day >= open_from - RECENT else RENEW_OLDER)


async def keep_totals(bot: Bot) -> int:
    """The job: compute the ended dates that are due (module rules); returns how many were
    written."""
    now = bot.clock.now()
    open_from = first_open_day(bot.config, now)
    dates = [open_from - timedelta(days=i) for i in range(KEEP_DAYS, 0, -1)]
    async with bot.db.read() as s:
        await plan_each_read(s)
        have = dict(
            (
                await s.execute(
                    select(StatsTotals.day, StatsTotals.computed_at).where(
                        StatsTotals.day >= dates[0]
                    )
                )
            ).all()
        )
    due = [d for d in dates if _due(d, have.get(d), open_from, now)]
    for d in due:
        async with bot.db.read() as s:
            await plan_each_read(s)
            t = await totals_on(s, bot.config, d)
        row: dict[str, Any] = {"day": d, "computed_at": now}
        row.update({f: getattr(t, f) for f in FIGURES})
        async with bot.db.transaction() as s:
            stmt = insert(s, StatsTotals).values(row)
            update = {c: stmt.excluded[c] for c in [*FIGURES, "computed_at"]}
            await s.execute(stmt.on_conflict_do_update(index_elements=["day"], set_=update))
    return len(due)
