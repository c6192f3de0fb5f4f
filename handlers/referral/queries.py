"""Read-mostly ledger queries on a session (the ``Referrals`` repository, the web, jobs).

Rules: a valid count includes admin adjustments not undone, never below zero; ``left``
includes deductions; a pending invite turns valid only from ``pending`` (``qualify``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import rowcount
from storage.models import Member
from storage.models_referral import Invite, InviteAdjustment


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
