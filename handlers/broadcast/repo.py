"""Broadcast rows: creating one (once per ``Idempotency-Key``), its report, the list, and
cancelling.

Rules:
- A broadcast and its groups are stored in one transaction; the same ``Idempotency-Key``
  again returns the broadcast it made (the unique key decides between two racing requests),
  and is refused when the request differs (``Conflict``).
- The report reads each queued group's outbox rows (``bc:{id}:{group}`` and its further
  parts, then the image ``bc:{id}:{group}:img``) for the delivery state; nothing about
  delivery is copied into the broadcast's rows.
- Cancelling takes back what has not gone: groups not queued yet, and queued posts still
  waiting in the outbox. What has gone stays as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import cancel_queued, part_keys
from handlers.broadcast.logic import (
    Outcome,
    Part,
    Request,
    counts,
    customer_outcome,
    delivery_state,
    overall,
)
from handlers.broadcast.targets import Known
from handlers.groupmsg import cancel_source, states_for
from storage.dialect import insert_ignore, rowcount
from storage.models import Group, OutboxMessage
from storage.models_broadcast import Broadcast, BroadcastGroup

CHUNK = 500  # keys per IN (…) list


class Conflict(ValueError):
    """The ``Idempotency-Key`` was used for another request."""


def outbox_key(broadcast_id: int, group_id: str) -> str:
    """The outbox key of a group's message in a broadcast (its first part)."""
    return f"bc:{broadcast_id}:{group_id}"


def image_key(broadcast_id: int, group_id: str) -> str:
    """The outbox key of a group's image in a broadcast (after its text parts)."""
    return f"bc:{broadcast_id}:{group_id}:img"


def group_keys(b: Broadcast, group_id: str, parts: int) -> list[str]:
    """Every outbox key of a group's message: its ``parts`` text posts, then its image."""
    keys = part_keys(outbox_key(b.id, group_id), max(parts, 1)) if b.text else []
    return [*keys, image_key(b.id, group_id)] if b.image else keys


async def known_groups(session: AsyncSession, ids: Sequence[str] | None = None) -> dict[str, Known]:
    """The groups the bot has stored (all, or those of ``ids``), by id."""
    q = select(Group.id, Group.platform, Group.name, Group.active)
    if ids is not None:
        q = q.where(Group.id.in_(list(ids)))
    rows = await session.execute(q)
    return {gid: Known(plat, name or "", bool(active)) for gid, plat, name, active in rows}


async def create(
    session: AsyncSession,
    req: Request,
    gids: Sequence[str],
    key: tuple[str, str] | None,
    now: datetime,
) -> tuple[int, int]:
    """Store the broadcast and its groups; (id, groups). ``key``: the ``Idempotency-Key`` and
    the body's fingerprint — a key already used for the same body gives that broadcast's
    (id, groups)."""
    if key is not None:
        found = await by_key(session, *key)
        if found is not None:
            return found
    row = dict(
        idem_key=key[0] if key else None,
        request_hash=key[1] if key else "",
        targets=list(req.targets),
        action=req.action,
        text=req.text,
        image=req.image,
        official=req.official,
        at=req.at,
        status="scheduled",
        created_at=now,
    )
    table = Broadcast.__table__
    stmt = insert_ignore(session, table, ["idem_key"]).values(row).returning(table.c.id)
    bid = await session.scalar(stmt)
    if bid is None:  # another request with the same key committed first
        assert key is not None
        found = await by_key(session, *key)
        if found is None:
            raise Conflict("Idempotency-Key is being used by a request still running")
        return found
    rows = [dict(broadcast_id=bid, group_id=g, state="scheduled", reason="", parts=0) for g in gids]
    await session.execute(BroadcastGroup.__table__.insert(), rows)
    return int(bid), len(gids)


async def by_key(session: AsyncSession, key: str, fingerprint: str) -> tuple[int, int] | None:
    """(id, groups) of the broadcast made under ``key`` (None if none; Conflict when it was
    made from another body)."""
    found = (
        await session.execute(
            select(Broadcast.id, Broadcast.request_hash).where(Broadcast.idem_key == key)
        )
    ).first()
    if found is None:
        return None
    if found[1] != fingerprint:
        raise Conflict("Idempotency-Key was already used for a different broadcast")
    n = await session.scalar(select(func.count()).where(BroadcastGroup.broadcast_id == found[0]))
    return int(found[0]), int(n or 0)


async def outcomes(session: AsyncSession, b: Broadcast) -> list[tuple[str, Outcome, list[Part]]]:
    """(group, outcome, outbox parts) of every group of the broadcast, by group id."""
    bid = b.id
    groups = (
        await session.execute(
            select(
                BroadcastGroup.group_id,
                BroadcastGroup.state,
                BroadcastGroup.reason,
                BroadcastGroup.parts,
            )
            .where(BroadcastGroup.broadcast_id == bid)
            .order_by(BroadcastGroup.group_id)
        )
    ).all()
    owner: dict[str, str] = {}
    for gid, state, _reason, parts in groups:
        if state == "queued":
            owner.update((k, gid) for k in group_keys(b, gid, parts))
    found: dict[str, list[Part]] = {}
    keys = list(owner)
    for i in range(0, len(keys), CHUNK):
        rows = await session.execute(
            select(
                OutboxMessage.idem_key,
                OutboxMessage.status,
                OutboxMessage.attempts,
                OutboxMessage.last_error,
            ).where(OutboxMessage.idem_key.in_(keys[i : i + CHUNK]))
        )
        for key, status, attempts, error in rows:
            kind = "image" if str(key).endswith(":img") else "text"
            found.setdefault(owner[str(key)], []).append(Part(status, attempts, error or "", kind))
    handed = await states_for(session, [outbox_key(bid, gid) for gid in {*owner.values()}])
    out = []
    for gid, state, reason, _ in groups:
        cg = handed.get(outbox_key(bid, gid))
        parts_of = sorted(found.get(gid, []), key=lambda p: p.kind == "image")
        if state == "queued" and cg is not None:  # a customer group: its own channel's state
            out.append((gid, customer_outcome(*cg), parts_of))
        else:
            out.append((gid, delivery_state(state, reason, parts_of), parts_of))
    return out


def _summary(b: Broadcast) -> dict[str, Any]:
    return {
        "id": b.id,
        "targets": list(b.targets),
        "action": b.action,
        "text": b.text,
        "image": b.image,
        "at": b.at.isoformat() if b.at else None,
        "created_at": b.created_at.isoformat(),
        "cancelled_at": b.cancelled_at.isoformat() if b.cancelled_at else None,
    }


async def report(session: AsyncSession, bid: int) -> dict[str, Any] | None:
    """The broadcast with each group's state and the counts (None when there is none)."""
    b = await session.get(Broadcast, bid)
    if b is None:
        return None
    lines = await outcomes(session, b)
    seen = [o for _, o, _ in lines]
    return {
        **_summary(b),
        "status": overall(b.status, seen),
        "groups": [
            {
                "group_id": g,
                "state": o.state,
                "reason": o.reason,
                "parts": [{"kind": p.kind, "status": p.status} for p in parts],
            }
            for g, o, parts in lines
        ],
        "counts": counts(seen),
    }


async def listing(session: AsyncSession, limit: int, before: int | None) -> list[dict[str, Any]]:
    """The newest broadcasts (ids below ``before``), with how many groups each has and the
    stored status: ``scheduled`` (not every group queued yet), ``queued``, ``cancelled``."""
    q = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
    if before is not None:
        q = q.where(Broadcast.id < before)
    rows = list((await session.scalars(q)).all())
    sizes = dict(
        (
            await session.execute(
                select(BroadcastGroup.broadcast_id, func.count())
                .where(BroadcastGroup.broadcast_id.in_([b.id for b in rows]))
                .group_by(BroadcastGroup.broadcast_id)
            )
        ).all()
    )
    return [{**_summary(b), "status": b.status, "groups": sizes.get(b.id, 0)} for b in rows]


async def cancel(session: AsyncSession, bid: int, now: datetime) -> bool | None:
    """Take back what has not gone; True when something was (None: no such broadcast)."""
    b = await session.get(Broadcast, bid)
    if b is None:
        return None
    status = b.status
    groups = await session.execute(
        update(BroadcastGroup)
        .where(BroadcastGroup.broadcast_id == bid, BroadcastGroup.state == "scheduled")
        .values(state="cancelled", reason="cancelled before it was queued")
        .execution_options(synchronize_session=False)
    )
    queued = await session.execute(
        select(BroadcastGroup.group_id, BroadcastGroup.parts).where(
            BroadcastGroup.broadcast_id == bid, BroadcastGroup.state == "queued"
        )
    )
    keys = [k for gid, parts in queued for k in group_keys(b, gid, parts)]
    taken = rowcount(groups) + await cancel_queued(session, keys)
    taken += await cancel_source(session, f"bc:{bid}")
    if taken or status == "scheduled":
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == bid, Broadcast.status != "cancelled")
            .values(status="cancelled", cancelled_at=now)
            .execution_options(synchronize_session=False)
        )
    return taken > 0
