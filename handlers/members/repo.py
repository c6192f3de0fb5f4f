"""Member tags as handlers read and write them (``Tags``), and who an auto-tag rule matches.

Rules: a tag is on a member once (unique per group, member and tag); a member carries at most
``max_tags_per_member`` (``TooMany``); every change is an audit row (``handlers.members.tags``).
Auto-tag conditions never match staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, Repository
from handlers.members.candidates import inactive_members, staff_ids, vip_scores
from handlers.members.config import Condition
from handlers.members.tags import add_tag, remove_tag, tag_counts, tagged
from storage.models import AuditEntry, Group
from storage.models_members import MemberTag

EVERYONE = 1_000_000


class Tags(Repository):
    async def add(self, **tag: Any) -> bool:
        """Put a tag on a member (``add_tag``); True when it was not there."""
        return await add_tag(self._db, **tag)

    async def remove(self, **tag: Any) -> bool:
        """Take a tag off (``remove_tag``); True when it was there."""
        return await remove_tag(self._db, **tag)

    async def counts(self, gid: str) -> list[tuple[str, int]]:
        return await tag_counts(self._db, gid)

    async def tagged(self, gid: str, tag: str) -> set[str]:
        return await tagged(self._db, gid, tag)

    async def holders(self, gid: str, tag: str) -> dict[str, str]:
        """Who carries ``tag`` in the group: user id → source (manual | auto)."""
        rows = await self._query(
            select(MemberTag.user_id, MemberTag.source).where(
                MemberTag.group_id == gid, MemberTag.tag == tag
            )
        )
        return {str(u): str(s) for u, s in rows.all()}

    async def groups_after(self, after: str) -> list[str]:
        """Groups met on the wire with an id after ``after``, by id."""
        return [
            str(g)
            for g in await self._scalars(
                select(Group.id).where(Group.id > after).order_by(Group.id)
            )
        ]

    async def matching(
        self, config: Config, gid: str, now: datetime, conds: list[Condition]
    ) -> dict[Condition, set[str]]:
        return await matching(self._db, config, gid, now, conds)


@dataclass(frozen=True, slots=True)
class Change:
    """One audit row about a member: who did what, when."""

    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class History(Repository):
    """What was done to a member (the audit rows naming them), for the member profile."""

    async def of(self, gid: str, uid: str, limit: int) -> list[Change]:
        rows = await self._query(
            select(AuditEntry.created_at, AuditEntry.actor_id, AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.group_id == gid, AuditEntry.target_id == uid)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
        return [Change(at, who or "", what, dict(detail or {})) for at, who, what, detail in rows]


def invite_weight(config: Config, gid: str) -> int:
    """``[stats] vip_invite_weight`` (read by its table name: stats reads this feature, so
    this feature does not import stats)."""
    try:
        return int(config.feature("stats", gid).vip_invite_weight)
    except (KeyError, AttributeError):
        return 3


async def matching(
    session: AsyncSession, config: Config, gid: str, now: datetime, conds: list[Condition]
) -> dict[Condition, set[str]]:
    """Who each condition holds for in the group (staff left off)."""
    staff = await staff_ids(session, config, gid)
    out: dict[Condition, set[str]] = {}
    scores = None
    for c in conds:
        if c.metric == "inactive_days":
            idle = await inactive_members(session, gid, now, c.at_least, EVERYONE)
            out[c] = {r.user_id for r in idle} - staff
            continue
        if scores is None:
            scores = await vip_scores(session, gid, invite_weight(config, gid), staff)
        field = {"vip_score": "score", "checkin_days": "checkins", "invites": "invites"}
        out[c] = {v.user_id for v in scores if getattr(v, field[c.metric]) >= c.at_least}
    return out
