"""The settlement job and tier announcements.

Rules:
- Every 5 minutes (monotonic time, on the scheduler leader, and once at start) one
  ``Scheduled(job="referral.settle")`` event goes into the inbox under a key no other run
  repeats (bot/jobs.py), so a wall clock stepped back never turns a run into a duplicate.
- The handler turns every pending invite that qualified by ``ctx.now()`` valid. It is
  idempotent: a row turns valid only from ``pending`` (a conditional update), so extra or
  overlapping runs change nothing.
- Reaching a tier is announced in the group once per (group, inviter, tier), whatever raised
  the count (a qualification or an admin's bonus) — unless the bot left or was removed from
  the group (``groups.active`` false): then a ``referral.tier_not_announced`` audit entry
  gives the reason (the tier is reached all the same).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import Context, Members, Router, Scheduled, group_active, submit, templates
from handlers.checkin import Checkins
from handlers.referral import ledger
from handlers.referral.config import ReferralConfig
from handlers.referral.repo import Referrals

if TYPE_CHECKING:
    from bot import Bot

JOB = "referral.settle"
SCHEDULER_ID = "referral-settle"
SETTLE_EVERY_S = 300

router = Router("referral-settle")
T_TIER = templates.register(
    "referral.tier_reached",
    "🎉 恭喜 {name} 已有效邀请 {count} 位好友，获得「{reward}」！发送 /领奖 领取",
    "name",
    "group",
    "bot",
    "count",
    "reward",
)


async def queue_settle(bot: Bot) -> None:
    """Queue a settlement (a periodic job, also run at start)."""
    await submit(bot, JOB)


async def announce_tiers(ctx: Context, group_id: str, inviter: str, before: int) -> None:
    """Announce every tier the inviter's valid count crossed since ``before`` (once each)."""
    cfg = ctx.config.feature(ReferralConfig, group_id)
    after = (await ctx.repo(Referrals).counts(group_id, inviter))["valid"]
    crossed = [t for t in cfg.tiers if before < t.invites <= after]
    if not crossed:
        return
    if not await group_active(ctx, group_id):
        reason = "group inactive: the bot left or was removed"
        for t in crossed:
            await ctx.audit("referral.tier_not_announced", inviter, tier=t.invites, reason=reason)
        return
    name = await ctx.repo(Members).name(group_id, inviter)
    platform = await ctx.repo(Referrals).platform_of(ctx.config, group_id)
    for t in crossed:
        text = ctx.render_for(
            group_id, T_TIER, name=name or inviter, count=t.invites, reward=t.reward
        )
        key = f"tier:{group_id}:{inviter}:{t.invites}"
        await ctx.send(group_id, text, idem_key=key, platform=platform or ctx.event.platform)


async def active_since(ctx: Context, group_id: str, user_id: str, since: datetime) -> bool:
    """Spoke in the group, or checked in, at or after ``since``."""
    member = await ctx.repo(Members).get(group_id, user_id)
    if member is not None and member.last_active_at is not None:
        if member.last_active_at >= since:
            return True
    return await ctx.repo(Checkins).checked_in_since(group_id, user_id, since)


@router.job(JOB)
async def settle(ctx: Context, ev: Scheduled) -> None:
    """Make every pending invite that qualified by now valid; announce tiers reached."""
    now = ctx.now()
    groups: list[str | None] = [None, *(g.id for g in ctx.config.groups)]
    shortest = min(ctx.config.feature(ReferralConfig, g).qualify_days for g in groups)
    referrals = ctx.repo(Referrals)
    for inv in await referrals.due_pending(now, shortest):
        cfg = ctx.config.feature(ReferralConfig, inv.group_id)
        if not cfg.enabled or now - inv.joined_at < timedelta(days=cfg.qualify_days):
            continue
        member = await ctx.repo(Members).get(inv.group_id, inv.invitee_id)
        if member is None or not member.in_group:
            continue
        if cfg.require_activity and not await active_since(
            ctx, inv.group_id, inv.invitee_id, inv.joined_at
        ):
            continue
        before = (await referrals.counts(inv.group_id, inv.inviter_id))["valid"]
        if not await referrals.qualify(inv.id, now):
            continue
        await ledger.audit(
            ctx, inv.group_id, "referral.valid", inv.invitee_id, inviter=inv.inviter_id
        )
        await announce_tiers(ctx, inv.group_id, inv.inviter_id, before)
