"""The invite ledger: who invited whom, and whether it counts.

Rules:
- An invite needs a trusted source (OneBot invite notice, WeCom invitor or join-code state, a
  console join, or an admin's /归属). No source: unattributed, no row.
- Self-invites and invites of the bot never count; staff invites count only if configured.
- Someone who was ever in the group before is a rejoin: recorded as ``fake``, never counted.
- ``pending`` at join → ``valid`` once they stayed ``qualify_days`` (and, if required, spoke or
  checked in) → leaving within ``deduct_days`` after that makes it ``deducted``.
  Leaving before qualifying makes it ``left``.
- Over the inviter's daily cap, or within the cooldown after their last credited invite, an
  invite is recorded as ``capped`` and does not count.
- Valid count = valid rows + admin adjustments that were not undone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch.context import Context
from handlers.referral.config import ReferralConfig
from storage.dialect import insert_ignore
from storage.models import Member
from storage.models_referral import Invite, InviteAdjustment

TRUSTED = {"onebot_invite", "wecom_invitor", "wecom_state", "console", "admin"}


async def invite_counts(session: AsyncSession, group_id: str, user_id: str) -> dict[str, int]:
    """``{"valid","pending","left","fake"}`` invites credited to ``user_id`` in the group."""
    rows = await session.execute(
        select(Invite.status, func.count())
        .where(Invite.group_id == group_id, Invite.inviter_id == user_id)
        .group_by(Invite.status)
    )
    by = dict(rows.all())
    adj = await session.scalar(
        select(func.coalesce(func.sum(InviteAdjustment.delta), 0)).where(
            InviteAdjustment.group_id == group_id,
            InviteAdjustment.user_id == user_id,
            InviteAdjustment.undone.is_(False),
        )
    )
    return {
        "valid": int(by.get("valid", 0)) + int(adj or 0),
        "pending": int(by.get("pending", 0)),
        "left": int(by.get("left", 0)) + int(by.get("deducted", 0)),
        "fake": int(by.get("fake", 0)),
    }


async def invite_leaderboard(
    session: AsyncSession, group_id: str, limit: int
) -> list[tuple[str, str, int]]:
    """(user_id, name, valid invites) best first."""
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
    ranked = ranked[:limit]
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


def is_staff(ctx: Context, cfg: ReferralConfig, uid: str) -> bool:
    return (
        uid in cfg.staff
        or uid in ctx.config.group_admins(ctx.group_id)
        or uid in ctx.config.bot.admins
    )


async def record_join(
    ctx: Context, invitee: str, inviter: str, source: str, first_join: bool
) -> str | None:
    """Write the ledger row for a join; returns its status (None when nothing counts)."""
    cfg: ReferralConfig = ctx.feature("referral")
    if not cfg.enabled or not inviter or source not in TRUSTED or ctx.group_id is None:
        return None
    if inviter == invitee or ctx.is_self(invitee) or ctx.is_self(inviter):
        return None
    if not cfg.staff_invites_count and is_staff(ctx, cfg, inviter):
        return None
    status = "pending" if first_join else "fake"
    if status == "pending" and cfg.daily_cap:
        day_start = ctx.local_now().replace(hour=0, minute=0, second=0, microsecond=0)
        today = await ctx.session.scalar(
            select(func.count())
            .select_from(Invite)
            .where(
                Invite.group_id == ctx.group_id,
                Invite.inviter_id == inviter,
                Invite.joined_at >= day_start,
                Invite.status.in_(("pending", "valid", "left", "deducted")),
            )
        )
        if int(today or 0) >= cfg.daily_cap:
            status = "capped"
    if status == "pending" and cfg.cooldown_minutes:
        last = await ctx.session.scalar(
            select(func.max(Invite.joined_at)).where(
                Invite.group_id == ctx.group_id,
                Invite.inviter_id == inviter,
                Invite.status.in_(("pending", "valid", "left", "deducted")),
            )
        )
        if last is not None and ctx.now() - last < timedelta(minutes=cfg.cooldown_minutes):
            status = "capped"
    table = Invite.__table__
    stmt = insert_ignore(ctx.session, table, ["group_id", "invitee_id"]).returning(table.c.id)
    row = dict(
        group_id=ctx.group_id,
        invitee_id=invitee,
        inviter_id=inviter,
        source=source,
        status=status,
        joined_at=ctx.now(),
    )
    if (await ctx.session.execute(stmt, [row])).scalar() is None:
        return None  # this person already has a ledger row here: rejoins never count again
    await ctx.audit("referral.credit", invitee, inviter=inviter, source=source, status=status)
    return status


async def record_leave(ctx: Context, invitee: str) -> None:
    cfg: ReferralConfig = ctx.feature("referral")
    inv = await ctx.session.scalar(
        select(Invite).where(Invite.group_id == ctx.group_id, Invite.invitee_id == invitee)
    )
    if inv is None:
        return
    now = ctx.now()
    if inv.status == "pending":
        inv.status, inv.left_at = "left", now
    elif inv.status == "valid" and inv.qualified_at is not None:
        if now - inv.qualified_at <= timedelta(days=cfg.deduct_days):
            inv.status, inv.left_at = "deducted", now
            await ctx.audit("referral.deduct", invitee, inviter=inv.inviter_id)


async def due_pending(session: AsyncSession, now: datetime, max_days: float) -> list[Invite]:
    q = select(Invite).where(
        Invite.status == "pending", Invite.joined_at <= now - timedelta(days=max_days)
    )
    return list((await session.scalars(q)).all())


async def qualify(session: AsyncSession, inv: Invite, now: datetime) -> None:
    await session.execute(
        update(Invite).where(Invite.id == inv.id).values(status="valid", qualified_at=now)
    )
