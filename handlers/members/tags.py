"""Reading and changing member tags; every change that happened is an audit row.

Rules:
- ``add_tag`` and ``remove_tag`` say whether anything changed (the unique (group, member,
  tag) key decides, never a read first); only a change is audited, with who did it
  (``actor``: the admin's id, ``api`` or ``auto``) and how (``source``).
- A member carries at most ``max_tags_per_member`` tags: a tag past the cap is refused
  (``TooMany``) and nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore, rowcount
from storage.models import AuditEntry
from storage.models_members import MemberTag


class TooMany(Exception):
    """The member already carries the most tags allowed."""


def audit_row(
    session: AsyncSession,
    *,
    gid: str,
    actor: str,
    action: str,
    target: str,
    now: datetime,
    event_id: int | None = None,
    **detail: Any,
) -> None:
    """One audit-log row (same transaction as the change it explains)."""
    session.add(
        AuditEntry(
            group_id=gid,
            actor_id=actor[:128],
            action=action,
            target_id=target,
            detail=detail,
            event_id=event_id,
            created_at=now,
        )
    )


async def member_tags(session: AsyncSession, gid: str, uid: str) -> list[str]:
    """A member's tags in a group, by name."""
    rows = await session.scalars(
        select(MemberTag.tag)
        .where(MemberTag.group_id == gid, MemberTag.user_id == uid)
        .order_by(MemberTag.tag)
    )
    return list(rows)


async def tag_rows(session: AsyncSession, gid: str, uid: str) -> list[MemberTag]:
    rows = await session.scalars(
        select(MemberTag)
        .where(MemberTag.group_id == gid, MemberTag.user_id == uid)
        .order_by(MemberTag.tag)
    )
    return list(rows)


async def tags_of(session: AsyncSession, gid: str, uids: Iterable[str]) -> dict[str, list[str]]:
    """Several members' tags in one group, in one query per 500 members."""
    out: dict[str, list[str]] = {}
    ids = sorted(set(uids))
    for i in range(0, len(ids), 500):
        rows = await session.execute(
            select(MemberTag.user_id, MemberTag.tag)
            .where(MemberTag.group_id == gid, MemberTag.user_id.in_(ids[i : i + 500]))
            .order_by(MemberTag.user_id, MemberTag.tag)
        )
        for uid, tag in rows.all():
            out.setdefault(uid, []).append(tag)
    return out


async def tagged(session: AsyncSession, gid: str, tag: str) -> set[str]:
    """Who carries ``tag`` in the group."""
    rows = await session.scalars(
        select(MemberTag.user_id).where(MemberTag.group_id == gid, MemberTag.tag == tag)
    )
    return set(rows)


async def tag_counts(session: AsyncSession, gid: str) -> list[tuple[str, int]]:
    """Each tag used in the group with how many members carry it, most used first."""
    rows = await session.execute(
        select(MemberTag.tag, func.count())
        .where(MemberTag.group_id == gid)
        .group_by(MemberTag.tag)
        .order_by(func.count().desc(), MemberTag.tag)
    )
    return [(t, int(n)) for t, n in rows.all()]


async def add_tag(
    session: AsyncSession,
    *,
    gid: str,
    uid: str,
    tag: str,
    source: str,
    actor: str,
    now: datetime,
    cap: int,
    event_id: int | None = None,
    rule: str = "",
) -> bool:
    """Put ``tag`` on the member; True when it was not there. Raises TooMany at the cap."""
    have = await session.scalar(
        select(func.count())
        .select_from(MemberTag)
        .where(MemberTag.group_id == gid, MemberTag.user_id == uid, MemberTag.tag != tag)
    )
    if int(have or 0) >= cap:
        raise TooMany(tag)
    stmt = (
        insert_ignore(session, MemberTag, ["group_id", "user_id", "tag"])
        .values(group_id=gid, user_id=uid, tag=tag, source=source, added_by=actor, added_at=now)
        .returning(MemberTag.tag)
    )
    if await session.scalar(stmt) is None:
        return False
    audit_row(
        session,
        gid=gid,
        actor=actor,
        action="members.tag",
        target=uid,
        now=now,
        event_id=event_id,
        tag=tag,
        source=source,
        **({"rule": rule} if rule else {}),
    )
    return True


async def remove_tag(
    session: AsyncSession,
    *,
    gid: str,
    uid: str,
    tag: str,
    source: str,
    actor: str,
    now: datetime,
    only_auto: bool = False,
    event_id: int | None = None,
    rule: str = "",
) -> bool:
    """Take ``tag`` off the member (with ``only_auto``, only when a rule put it on); True
    when it was there."""
    stmt = delete(MemberTag).where(
        MemberTag.group_id == gid, MemberTag.user_id == uid, MemberTag.tag == tag
    )
    if only_auto:
        stmt = stmt.where(MemberTag.source == "auto")
    if rowcount(await session.execute(stmt)) == 0:
        return False
    audit_row(
        session,
        gid=gid,
        actor=actor,
        action="members.untag",
        target=uid,
        now=now,
        event_id=event_id,
        tag=tag,
        source=source,
        **({"rule": rule} if rule else {}),
    )
    return True
