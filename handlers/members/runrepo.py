"""The guided actions' runs as the handlers that carry them out read and write them (``Runs``).

Rules: a member of a run is claimed once (``pending`` → its outcome) by a conditional UPDATE;
staff and the allow-list are read again at that moment; a join in the target group turns an
``invited`` or ``listed`` promotion into ``joined`` once; every outcome is an audit row in the
same transaction (``handlers.members.tags.audit_row``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot import Config, Repository
from handlers.members.actions import platform_of
from handlers.members.candidates import staff_ids
from handlers.members.tags import audit_row
from handlers.rules import allow_listed
from storage.models import Member
from storage.models_members import MemberAction, MemberActionItem


@dataclass(frozen=True, slots=True)
class Run:
    """One confirmed run, as the handlers need it."""

    id: int
    group_id: str
    kind: str
    target_group: str
    actor: str


class Runs(Repository):
    async def running(self) -> list[tuple[int, str]]:
        """(run id, group) of every run still being carried out."""
        rows = await self._query(
            select(MemberAction.id, MemberAction.group_id).where(MemberAction.status == "running")
        )
        return [(int(r), str(g)) for r, g in rows.all()]

    async def get(self, run_id: int) -> Run | None:
        """The run while it is ``running``; None once done or unknown."""
        row = await self._row(MemberAction, run_id)
        if row is None or row.status != "running":
            return None
        return Run(row.id, row.group_id, row.kind, row.target_group or "", row.actor or "")

    async def finish(self, run_id: int) -> None:
        await self._execute(
            update(MemberAction).where(MemberAction.id == run_id).values(status="done"),
            changes=[(MemberAction, (run_id,))],
        )

    async def pending(self, run_id: int, limit: int) -> list[str]:
        """The next ``limit`` members still pending, by user id."""
        return [
            str(u)
            for u in await self._scalars(
                select(MemberActionItem.user_id)
                .where(MemberActionItem.action_id == run_id, MemberActionItem.state == "pending")
                .order_by(MemberActionItem.user_id)
                .limit(limit)
            )
        ]

    async def guarded(self, config: Config, gid: str) -> set[str]:
        """Staff and the allow-list of the group, as of now."""
        return await staff_ids(self._db, config, gid) | await allow_listed(self._db, gid)

    async def in_group(self, gid: str, uid: str) -> bool:
        row = await self._row(Member, gid, uid)
        return row is not None and bool(row.in_group)

    async def platform(self, config: Config, gid: str) -> str:
        return await platform_of(self._db, config, gid)

    async def claim(self, run_id: int, uid: str, state: str, reason: str, now: datetime) -> bool:
        """Record the member's outcome; True for the one caller that moved it from pending."""
        claimed = await self._query(
            update(MemberActionItem)
            .where(
                MemberActionItem.action_id == run_id,
                MemberActionItem.user_id == uid,
                MemberActionItem.state == "pending",
            )
            .values(state=state, reason=reason, done_at=now)
            .returning(MemberActionItem.user_id)
        )
        return claimed.first() is not None

    async def joined(self, gid: str, uid: str, now: datetime) -> list[tuple[int, str]]:
        """Mark the member's invitations to ``gid`` joined: (run id, group of the run) each."""
        rows = await self._query(
            update(MemberActionItem)
            .where(
                MemberActionItem.target_group == gid,
                MemberActionItem.user_id == uid,
                MemberActionItem.state.in_(("invited", "listed")),
            )
            .values(state="joined", joined_at=now)
            .returning(MemberActionItem.action_id, MemberActionItem.group_id)
        )
        return [(int(r), str(g)) for r, g in rows.all()]

    def audit(self, **row: Any) -> None:
        """One audit-log row in this unit of work (``audit_row``)."""
        audit_row(self._db, **row)
