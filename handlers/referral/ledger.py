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

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Context
from handlers.referral.config import ReferralConfig
from storage.dialect import insert_ignore, rowcount
from storage.models import AuditEntry, Member
from storage.models_referral import Invite, InviteAdjustment

TRUSTED = {"onebot_invite", "wecom_invitor", "wecom_state", "console", "admin"}
CREDITED = ("pending", "valid", "left", "deducted")


async def invite_counts(session: AsyncSession, group_id: str, user_id: str) -> dict[str, int]:
    """``{"valid","pending","left","fake"}`` invites credited to ``user_id`` in the group.

    ``valid`` includes admin adjustments (never below zero); ``left`` includes deductions."""
    rows = await session.execute(
        select(Invite.status, func.count())
        .where(Invite.group_id == group_id, Invite.inviter_id == user_id)
        .group_by(Invite.status)
    )
    by = {str(s): int(n) for s, n in rows.all()}
    adj = await session.scalar(
        select(func.coalesce(func.sum(InviteAdjustment.delta), 0)).where(
            InviteAdjustment.group_id == group_id,
            InviteAdjustment.user_id == user_id,
            InviteAdjustment.undone.is_(False),
        )
    )
    return {
        "valid": max(0, by.get("valid", 0) + int(adj or 0)),
        "pending": by.get("pending", 0),
        "left": by.get("left", 0) + by.get("deducted", 0),
        "fake": by.get("fake", 0),
    }


async def invite_leaderboard(
    session: AsyncSession, group_id: str, limit: int
) -> list[tuple[str, str, int]]:
    """(user_id, name, valid invites incl. adjustments) best first; ties by user id."""
    valid = (
        select(Invite.inviter_id.label("uid"), func.count().label("n"))
        .where(Invite.group_id == group_id, Invite.status == "valid")
        .group_by(Invite.inviter_id)
    )
    adj = (
        select(InviteAdjustment.user_id.label("uid"), func.sum(InviteAdjustment.delta).label("n"))
        .where(InviteAdjustment.group_id == group_id, InviteAdjustment.undone.is_(False))
        .group_by(InviteAdjustment.user_id)
    )
    totals: dict[str, int] = {}
    for q in (valid, adj):
        for uid, n in (await session.execute(q)).all():
            totals[uid] = totals.get(uid, 0) + int(n or 0)
    ranked = sorted(((u, n) for u, n in totals.items() if n > 0), key=lambda x: (-x[1], x[0]))
    ranked = ranked[: max(0, limit)]
    names = dict(
        (
            await session.execute(
                select(Member.user_id, Member.name).where(
                    Member.group_id == group_id, Member.user_id.in_([u for u, _ in ranked])
                )
            )
        ).all()
    )
    return [(u, names.get(u) or u, n) for u, n in ranked]


async def audit(ctx: Context, group_id: str, action: str, target: str, **detail: Any) -> None:
    """An audit row for ``group_id`` (jobs serve many groups, so ``ctx.audit`` won't do)."""
    ctx.session.add(
        AuditEntry(
            group_id=group_id,
            actor_id=ctx.user_id,
            action=action,
            target_id=target,
            detail=detail,
            event_id=ctx.event_id,
            created_at=ctx.now(),
        )
    )


async def is_staff(ctx: Context, cfg: ReferralConfig, uid: str) -> bool:
    """Configured staff, the group's or the bot's admins, or the platform's owner/admins."""
    if uid in cfg.staff or uid in ctx.config.group_admins(ctx.group_id):
        return True
    if uid in ctx.config.bot.admins:
        return True
    role = await ctx.session.scalar(
        select(Member.role).where(Member.group_id == ctx.group_id, Member.user_id == uid)
    )
    return role in ("owner", "admin")


async def _credit(
    ctx: Context, cfg: ReferralConfig, inviter: str, at: datetime
) -> tuple[str, dict[str, Any]]:
    """``("pending", slot)`` when the invite may be credited, else ``("capped", {})``."""
    mine = (Invite.group_id == ctx.group_id, Invite.inviter_id == inviter)
    if cfg.cooldown_minutes:
        last = await ctx.session.scalar(
            select(func.max(Invite.joined_at)).where(*mine, Invite.credit_seq.is_not(None))
        )
        if last is not None and at - last < timedelta(minutes=cfg.cooldown_minutes):
            return "capped", {}
    day = ctx.local_day(at=at)
    used = await ctx.session.scalar(
        select(func.coalesce(func.max(Invite.credit_seq), 0)).where(*mine, Invite.credit_day == day)
    )
    seq = int(used or 0) + 1
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
    table = Invite.__table__
    stmt = insert_ignore(ctx.session, table, ["group_id", "invitee_id"]).returning(table.c.id)
    new = await ctx.session.execute(stmt, [dict(group_id=gid, invitee_id=invitee, **values)])
    if new.scalar() is None:
        if source != "admin":
            return None  # this person already has a ledger row here: rejoins never count again
        res = await ctx.session.execute(
            update(Invite)
            .where(Invite.group_id == gid, Invite.invitee_id == invitee, Invite.status == "void")
            .values(**values)
        )
        if not rowcount(res):
            return None
    await audit(ctx, gid, "referral.credit", invitee, inviter=inviter, source=source, status=status)
    return status


async def record_leave(ctx: Context, invitee: str) -> None:
    """Pending → ``left``; valid and qualified within ``deduct_days`` → ``deducted``."""
    cfg = ctx.feature(ReferralConfig)
    gid = ctx.group_id
    if gid is None:
        return
    inv = await ctx.session.scalar(
        select(Invite).where(Invite.group_id == gid, Invite.invitee_id == invitee)
    )
    if inv is None:
        return
    now = ctx.now()
    if inv.status == "pending":
        inv.status, inv.left_at = "left", now
        await audit(ctx, gid, "referral.left", invitee, inviter=inv.inviter_id)
    elif inv.status == "valid" and inv.qualified_at is not None:
        if now - inv.qualified_at <= timedelta(days=cfg.deduct_days):
            inv.status, inv.left_at = "deducted", now
            await audit(ctx, gid, "referral.deduct", invitee, inviter=inv.inviter_id)


async def due_pending(session: AsyncSession, now: datetime, min_days: float) -> list[Invite]:
    """Pending invites old enough to qualify under the shortest ``qualify_days`` in force."""
    q = (
        select(Invite)
        .where(Invite.status == "pending", Invite.joined_at <= now - timedelta(days=min_days))
        .order_by(Invite.id)
    )
    return list((await session.scalars(q)).all())


async def qualify(session: AsyncSession, invite_id: int, now: datetime) -> bool:
    """Pending → valid; False when someone (another run, an admin) changed it first."""
    res = await session.execute(
        update(Invite)
        .where(Invite.id == invite_id, Invite.status == "pending")
        .values(status="valid", qualified_at=now)
    )
    return bool(rowcount(res))
