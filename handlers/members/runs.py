"""Confirming a dry run: the run and one pending item per chosen member, stored with the
day's cap in one transaction; and a run's report.

Rules:
- The confirmation quotes the dry run's digest. A confirmation already made (same digest,
  same members: a double click, a retried request) returns that run. Otherwise the dry run
  is computed again: a different digest means the list changed since it was shown
  (``Changed``), and nothing runs.
- The chosen members must all be on the list (none chosen: the whole list).
- The cap is taken with one conditional UPDATE (``used + n <= daily_cap``): over it,
  ``OverCap`` and nothing is stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config
from handlers.members.actions import DryRun, dry_run
from storage.dialect import insert_ignore, rowcount
from storage.models import Member
from storage.models_members import MemberAction, MemberActionDay, MemberActionItem


class Refused(Exception):
    """Bad input: nothing stored (400)."""


class Changed(Exception):
    """The list is no longer what the dry run showed (409)."""


class OverCap(Exception):
    """Today's cap would be passed (409)."""


def run_key(digest: str, chosen: Sequence[str]) -> str:
    return hashlib.sha256((digest + "\n" + "\n".join(sorted(chosen))).encode()).hexdigest()


async def existing(session: AsyncSession, digest: str, chosen: Sequence[str]) -> int | None:
    found: int | None = await session.scalar(
        select(MemberAction.id).where(MemberAction.key == run_key(digest, chosen))
    )
    return found


async def confirm(
    session: AsyncSession,
    config: Config,
    *,
    kind: str,
    gid: str,
    digest: str,
    chosen: Sequence[str],
    actor: str,
    now: datetime,
) -> tuple[int, bool]:
    """Store the run: (id, new). Raises Refused, Changed or OverCap (see the rules)."""
    found = await existing(session, digest, chosen)
    if found is not None:
        return found, False
    dr: DryRun = await dry_run(session, config, kind, gid, now)
    if dr.blocked:
        raise Refused(dr.blocked)
    if digest != dr.digest:
        raise Changed("名单已变化，请重新预览后再确认")
    listed = {c.user_id for c in dr.candidates}
    ids = sorted(set(chosen)) if chosen else sorted(listed)
    if not ids:
        raise Refused("没有可处理的成员")
    if not set(ids) <= listed:
        raise Refused("user_ids: 只能选择预览名单中的成员")
    await session.execute(
        insert_ignore(session, MemberActionDay, ["group_id", "kind", "day"]).values(
            group_id=gid, kind=kind, day=dr.day, used=0
        )
    )
    took = await session.execute(
        update(MemberActionDay)
        .where(
            MemberActionDay.group_id == gid,
            MemberActionDay.kind == kind,
            MemberActionDay.day == dr.day,
            MemberActionDay.used + len(ids) <= dr.cap,
        )
        .values(used=MemberActionDay.used + len(ids))
        .execution_options(synchronize_session=False)
    )
    if rowcount(took) == 0:
        raise OverCap(f"超过今日上限 {dr.cap} 人")
    row = MemberAction(
        key=run_key(digest, chosen),
        kind=kind,
        group_id=gid,
        target_group=dr.target_group,
        digest=digest,
        actor=actor[:128],
        status="running",
        created_at=now,
    )
    session.add(row)
    await session.flush()
    session.add_all(
        MemberActionItem(
            action_id=row.id,
            user_id=uid,
            group_id=gid,
            kind=kind,
            target_group=dr.target_group,
            state="pending",
            created_at=now,
        )
        for uid in ids
    )
    return row.id, True


@dataclass
class ItemView:
    user_id: str
    name: str
    state: str
    reason: str
    done_at: datetime | None
    joined_at: datetime | None


@dataclass
class RunView:
    run: MemberAction
    members: list[ItemView]

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.members:
            out[m.state] = out.get(m.state, 0) + 1
        return out

    def as_json(self) -> dict[str, Any]:
        r = self.run
        return {
            "id": r.id,
            "kind": r.kind,
            "group_id": r.group_id,
            "target_group": r.target_group,
            "actor": r.actor,
            "status": r.status,
            "created_at": r.created_at.isoformat(),
            "counts": self.counts,
            "members": [
                {
                    "user_id": m.user_id,
                    "name": m.name,
                    "state": m.state,
                    "reason": m.reason,
                    "done_at": m.done_at.isoformat() if m.done_at else None,
                    "joined_at": m.joined_at.isoformat() if m.joined_at else None,
                }
                for m in self.members
            ],
        }


async def report(session: AsyncSession, run_id: int) -> RunView | None:
    """A run with each member's state, as the API and the page show it."""
    run = await session.get(MemberAction, run_id)
    if run is None:
        return None
    rows = (
        await session.execute(
            select(MemberActionItem, Member.name)
            .outerjoin(
                Member,
                (Member.group_id == MemberActionItem.group_id)
                & (Member.user_id == MemberActionItem.user_id),
            )
            .where(MemberActionItem.action_id == run_id)
            .order_by(MemberActionItem.user_id)
        )
    ).all()
    members = [
        ItemView(i.user_id, name or i.user_id, i.state, i.reason, i.done_at, i.joined_at)
        for i, name in rows
    ]
    return RunView(run, members)


async def runs_of(session: AsyncSession, gid: str, limit: int = 20) -> list[MemberAction]:
    rows = await session.scalars(
        select(MemberAction)
        .where(MemberAction.group_id == gid)
        .order_by(MemberAction.id.desc())
        .limit(limit)
    )
    return list(rows)
