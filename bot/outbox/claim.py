"""Sharing delivery between instances on PostgreSQL: rows are claimed before they are sent.

Rules:
- A target (robot key, group) is delivered by one instance at a time. An instance claims a
  target by locking the target's oldest queued row (its head) with ``FOR UPDATE SKIP LOCKED``
  — others skip it instead of waiting — and then claims the target's due rows, oldest first.
- A claim is a lease: the claimed rows' ``next_attempt_at`` moves ``CLAIM_S`` ahead, so no
  other instance sees them (or the target, whose head is then not due) until the holder marks
  them sent, retried or dead, or releases them. If the holder dies, its rows become due again
  when the lease runs out and are sent by someone else (at least once, as after any crash).
- A row is only started while ``SEND_MARGIN_S`` (longer than a send may take) is left on the
  lease, so an expiring lease never lets two instances send the same row.
- Robot keys are paced across instances: on claiming a robot target, the pacing window is
  loaded from the attempts every instance recorded in the last minute.

SQLite has one writer process, so it keeps the simple read-then-send path.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update

from bot.outbox.limiter import SlidingWindow, rebase
from storage import direct
from storage.db import Database
from storage.direct import prepared
from storage.models import OutboxMessage

CLAIM_S = 30.0
SEND_MARGIN_S = 12.0  # > the senders' 10 s HTTP timeout
PER_TARGET = 100


async def claim(
    db: Database, now: datetime, batch: int, busy: set[str]
) -> tuple[list[Any], datetime]:
    """Claim due rows of unclaimed targets; returns them in id order (read-only rows with the
    model's attribute names) and the lease's end."""
    until = now + timedelta(seconds=CLAIM_S)
    async with db.transaction() as s:
        conn = await s.connection()
        heads = await direct.run(conn, _HEADS, {"now": now, "limit": batch})
        targets = [t for (t,) in heads.all() if t not in busy]
        if not targets:
            return [], until
        params = {"targets": targets, "now": now, "limit": batch, "until": until}
        rows = sorted((await direct.run(conn, _CLAIM, params)).all(), key=lambda r: r.id)
    return rows, until


# built once, run on the driver connection (storage/direct.py)
_O = OutboxMessage.__table__.c
_HEADS = prepared(
    select(_O.target)
    .where(
        _O.id.in_(select(func.min(_O.id)).where(_O.status == "queued").group_by(_O.target)),
        _O.status == "queued",
        _O.next_attempt_at <= bindparam("now"),
    )
    .order_by(_O.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_RANKED = (
    select(_O.id, func.row_number().over(partition_by=_O.target, order_by=_O.id).label("n"))
    .where(
        _O.target.in_(bindparam("targets", expanding=True)),
        _O.status == "queued",
        _O.next_attempt_at <= bindparam("now"),
    )
    .subquery()
)
_CLAIM = prepared(
    update(OutboxMessage.__table__)
    .where(
        _O.id.in_(
            select(_RANKED.c.id)
            .where(_RANKED.c.n <= PER_TARGET)
            .order_by(_RANKED.c.id)
            .limit(bindparam("limit"))
            .scalar_subquery()
        )
    )
    .values(next_attempt_at=bindparam("until"))
    .returning(*_O)
)


async def release(db: Database, rows: list[OutboxMessage], now: datetime) -> None:
    """Give back claimed rows that were not attempted (due again at once)."""
    if rows:
        async with db.transaction() as s:
            await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([r.id for r in rows]))
                .values(next_attempt_at=now)
            )


async def load_window(
    db: Database, limiter: SlidingWindow, keys: list[str], now: datetime, mono: float
) -> None:
    """Replace this instance's pacing window for ``keys`` with every instance's attempts
    (their wall times re-based to this process's monotonic ``mono``). A key with an attempt
    recorded ahead of the wall clock (it stepped back since) keeps this instance's own window:
    shared wall times cannot say how long ago such attempts were."""
    if not keys:
        return
    since = now - timedelta(seconds=limiter.window_s)
    async with db.read() as s:
        found = await s.execute(
            select(OutboxMessage.target, OutboxMessage.last_attempt_at).where(
                OutboxMessage.channel == "wecom_robot",
                OutboxMessage.target.in_(keys),
                OutboxMessage.last_attempt_at >= since,
            )
        )
        by_key: dict[str, list[float]] = {k: [] for k in keys}
        for target, at in found:
            if at is not None:  # (the query asks for last_attempt_at >= since)
                by_key[target].append(at.timestamp())
    wall = now.timestamp()
    for key, times in by_key.items():
        if any(t > wall + 1.0 for t in times):
            continue
        limiter.forget(key)
        limiter.seed(key, rebase(times, wall, mono))
