"""Daily check-ins (签到/打卡). Placeholder until the feature lands."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch.router import Router

router = Router("checkin")


async def has_checked_in(
    session: AsyncSession, group_id: str, user_id: str, since: datetime
) -> bool:
    """True when the member has a (non-void) check-in in the group at or after ``since``."""
    return False


async def checkins_on(session: AsyncSession, group_id: str, day: date) -> list[str]:
    """User ids who checked in on the group's local ``day``, in check-in order."""
    return []


async def leaderboard(
    session: AsyncSession, group_id: str, board: str, limit: int, today: date
) -> list[tuple[str, str, int]]:
    """(user_id, name, value) rows for board ``today|streak|total|points|month``."""
    return []
