"""The invite ledger: who invited whom, and whether it counts.

Rules:
- An invite needs a trusted source (OneBot invite notice, WeCom invitor or join-code state, a
  console join, or an admin's /归属). No source: unattributed, no row.
- Self-invites and invites of the bot never count; staff invites count only if configured.
- Someone who was ever in the group before is a rejoin: recorded as ``fake``, never counted.
  One row per (group, invitee): whatever happens later, a person is invited at most once.
- ``pending`` at join → ``valid`` once they stayed ``qualify_days`` (and, if required, spoke or
  checked in) → leaving within ``deduct_days`` after that makes it ``deducted``.
  Leaving before qualifying makes it ``left``.
- Over the inviter's daily cap (per local day), or within the cooldown after their last credited
  invite, an invite is recorded as ``capped`` and does not count.
- Valid count = valid rows + admin adjustments that were not undone.
- Every credit, qualification, leave, deduction, adjustment and void is an audit row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot import Context, Members
from handlers.referral.config import ReferralConfig
from handlers.referral.queries import invite_counts, invite_leaderboard
from handlers.referral.repo import Referrals

TRUSTED = {"onebot_invite", "wecom_invitor", "wecom_state", "console", "admin"}
CREDITED = ("pending", "valid", "left", "deducted")


async def audit(ctx: Context, group_id: str, action: str, target: str, **detail: Any) -> None:
    """An audit row for ``group_id`` (jobs serve many groups, so ``ctx.audit`` won't do)."""
    await ctx.repo(Referrals).audit(
        group_id,
        action,
        target,
        actor_id=ctx.user_id,
        detail=detail,
        event_id=ctx.event_id,
        created_at=ctx.now(),
    )


async def is_staff(ctx: Context, cfg: ReferralConfig, uid: str) -> bool:
    """Configured staff, the group's or the bot's admins, or the platform's owner/admins."""
    if uid in cfg.staff or uid in ctx.config.group_admins(ctx.group_id):
        return True
    if uid in ctx.config.bot.admins:
        return True
    assert ctx.group_id is not None
    member = await ctx.repo(Members).get(ctx.group_id, uid)
    return member is not None and member.role in ("owner", "admin")


async def _credit(
    ctx: Context, cfg: ReferralConfig, inviter: str, at: datetime
) -> tuple[str, dict[str, Any]]:
    """``("pending", slot)`` when the invite may be credited, else ``("capped", {})``."""
    assert ctx.group_id is not None
    referrals = ctx.repo(Referrals)
    if cfg.cooldown_minutes:
        last = await referrals.last_credited_join(ctx.group_id, inviter)
        if last is not None and at - last < timedelta(minutes=cfg.cooldown_minutes):
            return "capped", {}
    day = ctx.local_day(at=at)
    seq = await referrals.credits_on(ctx.group_id, inviter, day) + 1
    if cfg.daily_cap and seq > cfg.daily_cap:
        return "capped", {}
    return "pending", {"credit_day": day, "credit_seq": seq}


async def record_join(
    ctx: Context,
    invitee: str,
    inviter: str,
    source: str,
    first_join: bool,
    joined_at: datetime | None = None,
) -> str | None:
    """Write the ledger row for a join; returns its status (None when nothing counts).

    A ``void`` row (an admin voided a wrong attribution) may be attributed again by an admin."""
    cfg = ctx.feature(ReferralConfig)
    gid = ctx.group_id
    if not cfg.enabled or not inviter or source not in TRUSTED or gid is None:
        return None
    if inviter == invitee or ctx.is_self(invitee) or ctx.is_self(inviter):
        return None
    if not cfg.staff_invites_count and await is_staff(ctx, cfg, inviter):
        return None
    at = joined_at or ctx.now()
    status, slot = await _credit(ctx, cfg, inviter, at) if first_join else ("fake", {})
    values = dict(
        inviter_id=inviter,
        source=source,
        status=status,
        joined_at=at,
        qualified_at=None,
        left_at=None,
        credit_day=slot.get("credit_day"),
        credit_seq=slot.get("credit_seq"),
    )
    referrals = ctx.repo(Referrals)
    if not await referrals.add_invite(gid, invitee, values):
        if source != "admin":
            return None  # this person already has a ledger row here: rejoins never count again
        if not await referrals.reattribute(gid, invitee, values):
            return None
    await audit(ctx, gid, "referral.credit", invitee, inviter=inviter, source=source, status=status)
    return status


async def record_leave(ctx: Context, invitee: str) -> None:
    """Pending → ``left``; valid and qualified within ``deduct_days`` → ``deducted``."""
    cfg = ctx.feature(ReferralConfig)
    gid = ctx.group_id
    if gid is None:
        return
    referrals = ctx.repo(Referrals)
    inv = await referrals.invite(gid, invitee)
    if inv is None:
        return
    now = ctx.now()
    if inv.status == "pending":
        await referrals.set_status(inv.id, "left", left_at=now)
        await audit(ctx, gid, "referral.left", invitee, inviter=inv.inviter_id)
    elif inv.status == "valid" and inv.qualified_at is not None:
        if now - inv.qualified_at <= timedelta(days=cfg.deduct_days):
            await referrals.set_status(inv.id, "deducted", left_at=now)
            await audit(ctx, gid, "referral.deduct", invitee, inviter=inv.inviter_id)


__all__ = ["audit", "invite_counts", "invite_leaderboard", "record_join", "record_leave"]
