"""Who is on a group's allow-list (``/白名单``), for features that must leave them alone (the
members feature's clean-up never takes them)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_moderation import AllowListEntry


async def allow_listed(session: AsyncSession, group_id: str) -> set[str]:
    """The group's allow-listed member ids: never checked, never cleaned up."""
    rows = await session.scalars(
        select(AllowListEntry.user_id).where(AllowListEntry.group_id == group_id)
    )
    return set(rows)
