"""Welcome's tables: pending greetings, who was greeted when, notices given (``Greetings``).

Rules:
- A join is written down once (pending rows are unique per join event).
- Pending rows are marked done in the unit of work that handles them; handled rows older than
  the keep period are pruned.
- ``greeted`` moves a member's last greeting time; a notice is given once per group and key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from bot import Repository
from storage.dialect import insert, insert_ignore
from storage.models_moderation import Greeted, PendingGreeting, WelcomeNotice


@dataclass(frozen=True, slots=True)
class Pending:
    """A newcomer waiting for the burst window to close."""

    id: int
    group_id: str
    user_id: str
    name: str
    inviter_id: str
    platform: str
    joined_at: datetime


_FIELDS = tuple(Pending.__dataclass_fields__)


class Greetings(Repository):
    async def add_pending(
        self,
        group_id: str,
        user_id: str,
        *,
        name: str,
        inviter_id: str,
        platform: str,
        joined_at: datetime,
        event_id: int | None,
    ) -> None:
        self._add(
            PendingGreeting(
                group_id=group_id,
                user_id=user_id,
                name=name,
                inviter_id=inviter_id,
                platform=platform,
                joined_at=joined_at,
                done=False,
                event_id=event_id,
            )
        )

    async def pending(self) -> list[Pending]:
        """The joins not handled yet, oldest first."""
        rows = await self._scalars(
            select(PendingGreeting)
            .where(PendingGreeting.done.is_(False))
            .order_by(PendingGreeting.id)
        )
        return [Pending(*(getattr(r, f) for f in _FIELDS)) for r in rows]

    async def mark_done(self, ids: list[int]) -> None:
        await self._execute(
            update(PendingGreeting).where(PendingGreeting.id.in_(ids)).values(done=True)
        )

    async def prune(self, before: datetime) -> None:
        """Forget handled joins from before ``before``."""
        await self._execute(
            delete(PendingGreeting).where(
                PendingGreeting.done.is_(True), PendingGreeting.joined_at < before
            )
        )

    async def greeted_at(self, group_id: str, user_id: str) -> datetime | None:
        found: datetime | None = await self._scalar(
            select(Greeted.greeted_at).where(
                Greeted.group_id == group_id, Greeted.user_id == user_id
            )
        )
        return found

    async def greeted(self, group_id: str, user_id: str, at: datetime) -> None:
        stmt = insert(self._db, Greeted).values(group_id=group_id, user_id=user_id, greeted_at=at)
        stmt = stmt.on_conflict_do_update(
            index_elements=["group_id", "user_id"], set_={"greeted_at": at}
        )
        await self._execute(stmt)

    async def first_notice(self, group_id: str, key: str, at: datetime) -> bool:
        """Record notice ``key`` for the group; True unless it was given before."""
        stmt = insert_ignore(self._db, WelcomeNotice, ["group_id", "key"])
        stmt = stmt.values(group_id=group_id, key=key[:64], created_at=at)
        return await self._scalar(stmt.returning(WelcomeNotice.group_id)) is not None
