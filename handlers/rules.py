"""Group rules and moderation (群规). Placeholder until the feature lands."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch.router import Router

router = Router("rules")


async def warning_count(session: AsyncSession, group_id: str, user_id: str, now: datetime) -> int:
    """Warnings in force (not expired, not revoked) for the member."""
    return 0
