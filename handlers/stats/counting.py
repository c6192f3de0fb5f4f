"""Counting what happens in a group, in the same transaction as the event itself.

Rules:
- Days are the group's calendar days (midnight in its timezone) at the moment the event
  happened (never later than it is processed).
- Every message, join and leave in a group adds one to that day's counters (a message also
  to its speaker's row of the local clock hour, ``stats_hourly``); the bot's own
  messages and joins are not counted. A member is active on a day once, however much they say.
- The member count of a day is written whenever membership changes (join, leave, or someone we
  never saw — or who had left — speaking), so the last write of the day is its end-of-day count.
- A message within ``engagement_minutes`` after a programme post marks its author as engaged
  with that post, once per post.
- Each event is processed once by the dispatcher (a redelivered event never reaches us twice);
  counters are upserts keyed by (group, day) that add in the database, so no read-then-write
  race exists. A dispatcher batch adds up its events' counts and writes each row once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

from bot import (
    Context,
    MemberJoined,
    MemberLeft,
    MessageReceived,
    Router,
    group_only,
    members_in_group,
)
from handlers.stats.config import StatsConfig
from handlers.stats.repo import POST_LOOKBACK, Counters

router = Router("stats")


def happened_at(ctx: Context) -> datetime:
    """When the event happened: its own timestamp, but never in the future."""
    return min(ctx.event.occurred_at, ctx.now())


def hour_of(at: datetime, tz: tzinfo) -> datetime:
    """The start (UTC) of the local clock hour holding ``at``."""
    return at.astimezone(tz).replace(minute=0, second=0, microsecond=0).astimezone(UTC)


def stats_day(ctx: Context) -> date:
    return ctx.local_day(0, happened_at(ctx))


def _enabled(ctx: Context) -> bool:
    return bool(ctx.feature(StatsConfig).enabled)


def _membership_changed(ctx: Context) -> bool:
    """A speaker's first message (we may never have seen them join), or one who had left:
    the member count may have moved."""
    m = ctx.member
    if m is None:
        return False
    if m.messages == 1:  # tracking has just counted this message
        return True
    return m.left_at is not None and (m.joined_at is None or m.left_at >= m.joined_at)


@router.on(MessageReceived, group_only, _enabled, observes=True)
async def count_message(ctx: Context) -> None:
    """One message; the speaker is active today and engaged with any post just before."""
    msg = ctx.message
    assert msg is not None and msg.group_id is not None
    if not msg.user_id or ctx.is_self(msg.user_id):
        return
    at = happened_at(ctx)
    day = stats_day(ctx)
    members = await members_in_group(ctx) if _membership_changed(ctx) else None
    counters = ctx.repo(Counters)
    await counters.bump(msg.group_id, day, members, messages=1)
    await counters.spoke(msg.group_id, day, msg.user_id, at)
    await counters.spoke_in_hour(msg.group_id, hour_of(at, ctx.tz), msg.user_id)
    window = timedelta(minutes=ctx.feature(StatsConfig).engagement_minutes)
    for occ_id, slot_at, posted in await counters.recent_posts(msg.group_id, at - window):
        if at - window <= posted <= at and slot_at >= at - window - POST_LOOKBACK:
            await counters.engaged(msg.group_id, occ_id, msg.user_id)


@router.on(MemberJoined, group_only, _enabled, observes=True)
async def count_join(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, MemberJoined) and ev.group_id is not None
    if ev.user_id and not ctx.is_self(ev.user_id):
        members = await members_in_group(ctx)
        await ctx.repo(Counters).bump(ev.group_id, stats_day(ctx), members, joins=1)


@router.on(MemberLeft, group_only, _enabled, observes=True)
async def count_leave(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, MemberLeft) and ev.group_id is not None
    if ev.user_id and not ctx.is_self(ev.user_id):
        members = await members_in_group(ctx)
        await ctx.repo(Counters).bump(ev.group_id, stats_day(ctx), members, leaves=1)
