"""The daily figures of a group, as the API, the dashboard and the reports show them.

Rules:
- A day is the group's calendar day; a series covers ``days`` days ending today, oldest first,
  with every day present (zeros where nothing happened) — but none before the first day the
  bot saw the group or before its first start (``span.start_day``): those are absent, so a
  young group's series is shorter. Today is always there.
- ``members`` at the end of a day is the count written by the last change of membership on or
  before that day; before the first recorded change it is worked back from the next known count
  (or today's count) by undoing the joins and leaves in between.
- Active members are the distinct members who spoke or checked in (not a make-up) that day.
- Check-ins, valid invites (by the day they qualified), programme posts (``failed`` when the
  post's message was dead-lettered) and engagement come from their own tables, by query;
  auto-replies (every rule's answers and the model's) from ``handlers.autoreply``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config
from handlers.autoreply import rule_hits
from handlers.stats.span import first_days
from storage.models import Member, OutboxMessage
from storage.models_checkin import Checkin
from storage.models_programme import ProgrammeOccurrence
from storage.models_referral import Invite
from storage.models_stats import StatsActivity, StatsDaily, StatsPostEngagement

MAX_DAYS = 366


@dataclass
class DayStats:
    date: str
    members: int = 0
    joins: int = 0
    leaves: int = 0
    messages: int = 0
    active_members: int = 0
    checkins: int = 0
    valid_invites: int = 0
    posts_sent: int = 0
    posts_failed: int = 0
    post_engagement: int = 0
    auto_replies: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FIELDS = list(DayStats.__dataclass_fields__)


def today_of(config: Config, gid: str, now: datetime) -> date:
    return now.astimezone(config.timezone(gid)).date()


def utc_bounds(tz: ZoneInfo, first: date, last: date) -> tuple[datetime, datetime]:
    """[start of ``first``, start of the day after ``last``) in UTC."""
    lo = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return lo, hi


async def members_now(session: AsyncSession, gid: str) -> int:
    q = select(func.count()).select_from(Member).where(Member.group_id == gid, Member.in_group)
    return int(await session.scalar(q) or 0)


async def daily_series(
    session: AsyncSession, config: Config, gid: str, days: int, now: datetime
) -> list[DayStats]:
    """At most ``days`` days of figures for group ``gid``, ending today."""
    tz = config.timezone(gid)
    last = today_of(config, gid, now)
    first = last - timedelta(days=days - 1)
    first = max(first, (await first_days(session, config, [gid], {gid: last}))[gid])
    days = (last - first).days + 1
    out = {
        first + timedelta(days=i): DayStats((first + timedelta(days=i)).isoformat())
        for i in range(days)
    }
    rows = (
        await session.execute(
            select(StatsDaily).where(
                StatsDaily.group_id == gid, StatsDaily.day >= first, StatsDaily.day <= last
            )
        )
    ).scalars()
    snaps: dict[date, int] = {}
    for r in rows:
        d = out[r.day]
        d.joins, d.leaves, d.messages = r.joins, r.leaves, r.messages
        if r.members is not None:
            snaps[r.day] = r.members
    before = (
        await session.execute(
            select(StatsDaily.members)
            .where(
                StatsDaily.group_id == gid, StatsDaily.day < first, StatsDaily.members.is_not(None)
            )
            .order_by(StatsDaily.day.desc())
            .limit(1)
        )
    ).scalar()
    fill_members(out, snaps, before, await members_now(session, gid))
    await _fill_active(session, gid, first, last, out)
    checkins = await session.execute(
        select(Checkin.day, func.count())
        .where(Checkin.group_id == gid, Checkin.day >= first, Checkin.day <= last, ~Checkin.void)
        .group_by(Checkin.day)
    )
    for day, n in checkins.all():
        out[day].checkins = int(n)
    lo, hi = utc_bounds(tz, first, last)
    await _fill_invites(session, gid, tz, lo, hi, out)
    await _fill_posts(session, gid, tz, lo, hi, out)
    for per_day in (await rule_hits(session, gid, first, last)).values():
        for day, n in per_day.items():
            out[day].auto_replies += n
    return [out[d] for d in sorted(out)]


def fill_members(
    out: dict[date, DayStats], snaps: dict[date, int], before: int | None, now_count: int
) -> None:
    days = sorted(out)
    current = before
    for d in days:  # forward: the last known count holds until the next change
        current = snaps.get(d, current)
        out[d].members = current if current is not None else -1
    later = now_count  # backward: before the first change, undo joins and leaves
    for d in reversed(days):
        if out[d].members >= 0:
            later = out[d].members - out[d].joins + out[d].leaves
            continue
        out[d].members = max(0, later)
        later = later - out[d].joins + out[d].leaves


async def _fill_active(
    session: AsyncSession, gid: str, first: date, last: date, out: dict[date, DayStats]
) -> None:
    spoke = select(StatsActivity.day, StatsActivity.user_id).where(
        StatsActivity.group_id == gid, StatsActivity.day >= first, StatsActivity.day <= last
    )
    checked = select(Checkin.day, Checkin.user_id).where(
        Checkin.group_id == gid,
        Checkin.day >= first,
        Checkin.day <= last,
        ~Checkin.void,
        ~Checkin.makeup,
    )
    both = union(spoke, checked).subquery()
    rows = await session.execute(select(both.c.day, func.count()).group_by(both.c.day))
    for day, n in rows.all():
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        if day in out:
            out[day].active_members = int(n)


def parse_post_key(key: str, gid: str) -> tuple[str, datetime] | None:
    """(slot, time) of a programme post's outbox key ``prog:{slot}:{group}:{iso time}``."""
    slot, _, rest = key.removeprefix("prog:").partition(":")
    if not rest.startswith(gid + ":"):
        return None
    try:
        return slot, datetime.fromisoformat(rest[len(gid) + 1 :])
    except ValueError:
        return None


def _bucket(out: dict[date, DayStats], tz: ZoneInfo, at: datetime) -> DayStats | None:
    return out.get(at.astimezone(tz).date())


async def _fill_invites(
    session: AsyncSession,
    gid: str,
    tz: ZoneInfo,
    lo: datetime,
    hi: datetime,
    out: dict[date, DayStats],
) -> None:
    rows = await session.scalars(
        select(Invite.qualified_at).where(
            Invite.group_id == gid,
            Invite.status == "valid",
            Invite.qualified_at >= lo,
            Invite.qualified_at < hi,
        )
    )
    for at in rows.all():
        if at is not None and (d := _bucket(out, tz, at)) is not None:
            d.valid_invites += 1


async def _fill_posts(
    session: AsyncSession,
    gid: str,
    tz: ZoneInfo,
    lo: datetime,
    hi: datetime,
    out: dict[date, DayStats],
) -> None:
    occ = ProgrammeOccurrence
    rows = (
        await session.execute(
            select(occ.id, occ.slot_id, occ.at).where(
                occ.group_id == gid, occ.status == "sent", occ.at >= lo, occ.at < hi
            )
        )
    ).all()
    if not rows:
        return
    dead_keys = await session.scalars(
        select(OutboxMessage.idem_key).where(
            OutboxMessage.group_id == gid,
            OutboxMessage.status == "dead",
            OutboxMessage.idem_key.like("prog:%"),
        )
    )
    dead = {p for k in dead_keys.all() if k and (p := parse_post_key(k, gid)) is not None}
    engaged = Counter(
        dict(
            (
                await session.execute(
                    select(StatsPostEngagement.occurrence_id, func.count())
                    .where(StatsPostEngagement.occurrence_id.in_([r.id for r in rows]))
                    .group_by(StatsPostEngagement.occurrence_id)
                )
            ).all()
        )
    )
    for r in rows:
        d = _bucket(out, tz, r.at)
        if d is None:
            continue
        if (r.slot_id, r.at) in dead:
            d.posts_failed += 1
        else:
            d.posts_sent += 1
        d.post_engagement += int(engaged.get(r.id, 0))
