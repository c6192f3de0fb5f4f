"""What features read of the members the core tracks: ``ctx.repo(Members)``.

Rules: the core alone writes member rows (bot/dispatch/tracking.py); a feature reads them as
frozen ``MemberInfo`` values, as the unit of work sees them (an earlier event of the same
batch included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from bot.repository import Repository
from storage.models import Member


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """A person as seen in one group."""

    group_id: str
    user_id: str
    name: str
    in_group: bool
    role: str
    first_seen_at: datetime
    joined_at: datetime | None
    left_at: datetime | None
    last_active_at: datetime | None
    join_count: int
    messages: int


_FIELDS = tuple(MemberInfo.__dataclass_fields__)


class Members(Repository):
    """The members the core tracks, read-only for features."""

    async def get(self, group_id: str, user_id: str) -> MemberInfo | None:
        row = await self._row(Member, group_id, user_id)
        if row is None:
            return None
        return MemberInfo(*(getattr(row, f) for f in _FIELDS))

    async def name(self, group_id: str, user_id: str) -> str:
        """The name we last saw for a member (or the id)."""
        row = await self._row(Member, group_id, user_id)
        return (row.name if row is not None else "") or user_id

    async def count_in(self, group_id: str) -> int:
        """Members in the group now, as far as the bot knows (``members_in_group`` keeps a
        batch's count of the event's own group without a query)."""
        q = select(func.count()).select_from(Member)
        q = q.where(Member.group_id == group_id, Member.in_group.is_(True))
        return int(await self._scalar(q) or 0)

    async def present(self, group_id: str) -> list[MemberInfo]:
        """The members in the group now."""
        rows = await self._query(
            select(*Member.__table__.c).where(
                Member.group_id == group_id, Member.in_group.is_(True)
            )
        )
        return [MemberInfo(*(r._mapping[f] for f in _FIELDS)) for r in rows]

    async def named(self, group_id: str, name: str) -> list[str]:
        """The user ids whose shown name in the group is ``name``."""
        return await self._scalars(
            select(Member.user_id).where(Member.group_id == group_id, Member.name == name)
        )
