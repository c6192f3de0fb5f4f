"""Counting what happens in a group, in the same transaction as the event itself.

Rules:
- Days are the group's calendar days (midnight in its timezone) at the moment the event
  happened (never later than it is processed).
- Every message, join and leave in a group adds one to that day's counters; the bot's own
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

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

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
from storage.models_programme import ProgrammeOccurrence
from storage.models_stats import StatsActivity, StatsDaily, StatsPostEngagement

router = Router("stats")
# a late programme post is made at most the programme's grace period (≤ 24 h) after its time
POST_LOOKBACK = timedelta(hours=25)


def happened_at(ctx: Context) -> datetime:
    """When the event happened: its own timestamp, but never in the future."""
    return min(ctx.event.occurred_at, ctx.now())


def stats_day(ctx: Context) -> date:
    return ctx.local_day(0, happened_at(ctx))


def _enabled(ctx: Context) -> bool:
    return bool(ctx.feature(StatsConfig).enabled)


async def bump(ctx: Context, day: date, members: int | None = None, **add: int) -> None:
    """Add ``add`` (joins/leaves/messages) to the group's day row; set ``members`` if given."""
    counts: dict[str, Any] = {"joins": 0, "leaves": 0, "messages": 0, **add}
    await ctx.batch.upsert_add(
        StatsDaily, {"group_id": ctx.group_id, "day": day}, counts, {"members": members}
    )


async def recent_posts(ctx: Context, since: datetime) -> list[tuple[int, datetime, datetime]]:
    """(id, slot time, posted at) of the group's programme posts made at or after ``since``;
    read once per batch (again only if an older message needs more)."""
    key = ("stats.recent_posts", ctx.group_id)
    have = ctx.batch.memo.get(key)
    if have is not None and have[0] <= since:
        posts: list[tuple[int, datetime, datetime]] = have[1]
        return posts
    occ = ProgrammeOccurrence
    q = select(occ.id, occ.at, occ.created_at).where(
        occ.group_id == ctx.group_id,
        occ.status == "sent",
        occ.at >= since - POST_LOOKBACK,
        occ.created_at >= since,
    )
    rows = [(i, a, c) for i, a, c in (await ctx.batch.read(q)).all()]
    if ctx.batch.deferred:
        ctx.batch.memo[key] = (since, rows)
    return rows


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
    assert msg is not None
    if not msg.user_id or ctx.is_self(msg.user_id):
        return
    at = happened_at(ctx)
    day = stats_day(ctx)
    members = await members_in_group(ctx) if _membership_changed(ctx) else None
    await bump(ctx, day, members, messages=1)
    await ctx.batch.upsert_add(
        StatsActivity,
        {"group_id": ctx.group_id, "day": day, "user_id": msg.user_id},
        {"messages": 1},
        {"last_at": at},
    )
    window = timedelta(minutes=ctx.feature(StatsConfig).engagement_minutes)
    for occ_id, slot_at, posted in await recent_posts(ctx, at - window):
        if at - window <= posted <= at and slot_at >= at - window - POST_LOOKBACK:
            row = {"occurrence_id": occ_id, "user_id": msg.user_id, "group_id": ctx.group_id}
            await ctx.batch.insert_ignore(StatsPostEngagement, row, ["occurrence_id", "user_id"])


@router.on(MemberJoined, group_only, _enabled, observes=True)
async def count_join(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, MemberJoined)
    if ev.user_id and not ctx.is_self(ev.user_id):
        await bump(ctx, stats_day(ctx), await members_in_group(ctx), joins=1)


@router.on(MemberLeft, group_only, _enabled, observes=True)
async def count_leave(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, MemberLeft)
    if ev.user_id and not ctx.is_self(ev.user_id):
        await bump(ctx, stats_day(ctx), await members_in_group(ctx), leaves=1)
