"""Invite counting and referral rewards (邀请有礼). Placeholder until the feature lands."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch.router import Router

router = Router("referral")


async def invite_counts(session: AsyncSession, group_id: str, user_id: str) -> dict[str, int]:
    """``{"valid","pending","left","fake"}`` invites credited to ``user_id`` in the group."""
    return {"valid": 0, "pending": 0, "left": 0, "fake": 0}


async def invite_leaderboard(
    session: AsyncSession, group_id: str, limit: int
) -> list[tuple[str, str, int]]:
    """(user_id, name, valid invites) best first."""
    return []
