"""What handlers of the WeCom side write: sync requests, member versions, join codes (``Sync``).

Rules:
- A sync request is written once per event (unique key); the worker serves it later.
- A group's ``member_version`` is the last WeCom version applied; an in-sequence change moves
  it at once.
- A member has at most one join code per group (primary key); a failed one is asked for again.
(The workers outside the event path read and write these tables with their own session.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot import Repository
from storage.dialect import insert_ignore
from storage.models import Group
from storage.models_wecom import WeComJoinWay, WeComSyncRequest


@dataclass(frozen=True, slots=True)
class JoinCode:
    status: str
    qr_code: str


class Sync(Repository):
    async def member_version(self, group_id: str) -> str:
        found = await self._scalar(select(Group.member_version).where(Group.id == group_id))
        return str(found or "")

    async def set_member_version(self, group_id: str, version: str) -> None:
        await self._execute(
            update(Group).where(Group.id == group_id).values(member_version=version)
        )

    async def request_sync(self, key: str, **values: Any) -> None:
        """Ask the worker for a sync of the group (once per ``key``)."""
        stmt = insert_ignore(self._db, WeComSyncRequest, ["key"]).values(
            key=key[:200], status="queued", attempts=0, last_error="", **values
        )
        await self._execute(stmt)

    async def join_code(self, group_id: str, user_id: str) -> JoinCode | None:
        found = (
            await self._query(
                select(WeComJoinWay.status, WeComJoinWay.qr_code).where(
                    WeComJoinWay.group_id == group_id, WeComJoinWay.user_id == user_id
                )
            )
        ).first()
        return None if found is None else JoinCode(found[0], found[1])

    async def ask_join_code(self, group_id: str, user_id: str, state: str, at: datetime) -> None:
        """Ask for the member's join code (state = their referral code), or again after it
        failed."""
        await self._execute(
            insert_ignore(self._db, WeComJoinWay, ["group_id", "user_id"]).values(
                group_id=group_id, user_id=user_id, state=state, status="pending", requested_at=at
            )
        )
        await self._execute(
            update(WeComJoinWay)
            .where(
                WeComJoinWay.group_id == group_id,
                WeComJoinWay.user_id == user_id,
                WeComJoinWay.status == "failed",
            )
            .values(status="pending", attempts=0, last_error="")
        )

    async def join_code_used(self, group_id: str, state: str, at: datetime) -> None:
        await self._execute(
            update(WeComJoinWay)
            .where(WeComJoinWay.group_id == group_id, WeComJoinWay.state == state)
            .values(last_used_at=at)
        )
