"""Welcoming newcomers (欢迎新人).

Rules:
- A join is only written down (a pending greeting, unique per join event); nobody is greeted
  from the join itself. A flush job (every ``FLUSH_EVERY_S`` seconds of monotonic time, on
  the scheduler leader, through the inbox) greets each group whose burst has settled: no
  join for ``window_s`` — so joins close together get one message naming them all. A steady
  trickle is greeted at the latest ``max_wait_s`` after its first join.
- A member is greeted at most once per ``once_per_hours`` (leave-and-rejoin spam); someone who
  left before their greeting is not greeted.
- More than ``raid_joins`` joins within ``raid_window_s`` is a raid: one summary in the group,
  an alert to the admins, no greetings.
- From ``near_capacity`` members on the admins are told, once a day; at capacity
  each greeting points newcomers to the next group sharing a tag that still has room.
- An optional goodbye (off by default) for members who leave by themselves.
- Texts are templates (``welcome.greet``, ``welcome.greet_invited`` …), overridable per group;
  on WeCom robot groups the greeting is markdown with ``<@id>`` mentions.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot import (
    Context,
    MemberJoined,
    MemberLeft,
    Router,
    Scheduled,
    group_only,
    prepared,
    submit,
    templates,
)
from handlers.welcome.config import WelcomeConfig
from handlers.welcome.greet import greet_group
from handlers.welcome.repo import Greetings, Pending
from storage.models_moderation import PendingGreeting

if TYPE_CHECKING:
    from bot import Bot

router = Router("welcome")
FLUSH_JOB = "welcome.flush"
FLUSH_EVERY_S = 5
KEEP_DONE = timedelta(days=2)  # handled pending rows are pruned after this
T_BYE = templates.register(
    "welcome.goodbye", "👋 {name} 离开了{group}，祝一切顺利。", "name", "group", "bot"
)


# built once: the flush job asks every few seconds, mostly to find nothing
_OPEN = prepared(select(PendingGreeting.id).where(PendingGreeting.done.is_(False)).limit(1))


@router.on(MemberJoined, group_only)
async def on_join(ctx: Context) -> None:
    """Write the join down; the flush greets it once the burst has settled."""
    ev = ctx.event
    assert isinstance(ev, MemberJoined) and ev.group_id is not None
    if not ctx.feature(WelcomeConfig).enabled or ctx.is_self(ev.user_id) or not ev.user_id:
        return
    await ctx.repo(Greetings).add_pending(
        ev.group_id,
        ev.user_id,
        name=ctx.member.name if ctx.member else "",  # the shown name (bot/names.py)
        inviter_id=ev.inviter_id,
        platform=ctx.group.platform if ctx.group else ev.platform,
        joined_at=ctx.now(),
        event_id=ctx.event_id,
    )


@router.on(MemberLeft, group_only)
async def on_leave(ctx: Context) -> None:
    """Goodbye (when enabled) to members who left by themselves."""
    ev = ctx.event
    assert isinstance(ev, MemberLeft)
    if not ctx.feature(WelcomeConfig).goodbye or ev.kicked or ctx.is_self(ev.user_id):
        return
    await ctx.send(ctx.group_id, ctx.render(T_BYE, name=await ctx.member_name(ev.user_id)))


@router.job(FLUSH_JOB)
async def flush(ctx: Context, ev: Scheduled) -> None:
    """Greet every group whose burst window has closed (by ``ctx.now()``); the pending rows are
    marked done in the same transaction, and old handled rows are pruned."""
    now = ctx.now()
    greetings = ctx.repo(Greetings)
    pending = await greetings.pending()
    by_group: dict[str, list[Pending]] = {}
    for p in pending:
        by_group.setdefault(p.group_id, []).append(p)
    for gid, rows in by_group.items():
        cfg = ctx.config.feature(WelcomeConfig, gid)
        settled = max(r.joined_at for r in rows) <= now - timedelta(seconds=cfg.window_s)
        overdue = min(r.joined_at for r in rows) <= now - timedelta(seconds=cfg.max_wait_s)
        if settled or overdue:
            await greet_group(ctx, gid, rows, cfg)
    await greetings.prune(now - KEEP_DONE)


async def flush_due(bot: Bot) -> bool:
    """Queue a flush when greetings are pending; True when queued. (The read only avoids an
    inbox event every few seconds in quiet times.)"""
    if await bot.db.peek(_OPEN) is None:
        return False
    return await submit(bot, FLUSH_JOB)
