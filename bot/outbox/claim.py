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

from sqlalchemy import func, select, update

from bot.outbox.limiter import SlidingWindow, rebase
from storage.db import Database
from storage.models import OutboxMessage

CLAIM_S = 30.0
SEND_MARGIN_S = 12.0  # > the senders' 10 s HTTP timeout
PER_TARGET = 100


async def claim(
    db: Database, now: datetime, batch: int, busy: set[str]
) -> tuple[list[OutboxMessage], datetime]:
    """Claim due rows of unclaimed targets; returns them in id order and the lease's end."""
    until = now + timedelta(seconds=CLAIM_S)
    o = OutboxMessage
    heads = select(func.min(o.id)).where(o.status == "queued").group_by(o.target)
    head_q = (
        select(o.target)
        .where(o.id.in_(heads), o.status == "queued", o.next_attempt_at <= now)
        .order_by(o.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    async with db.transaction() as s:
        targets = [t for t in (await s.scalars(head_q)).all() if t not in busy]
        if not targets:
            return [], until
        ranked = (
            select(o.id, func.row_number().over(partition_by=o.target, order_by=o.id).label("n"))
            .where(o.target.in_(targets), o.status == "queued", o.next_attempt_at <= now)
            .subquery()
        )
        ids = select(ranked.c.id).where(ranked.c.n <= PER_TARGET).order_by(ranked.c.id)
        stmt = (
            update(o)
            .where(o.id.in_(ids.limit(batch).scalar_subquery()))
            .values(next_attempt_at=until)
            .returning(o)
            .execution_options(synchronize_session=False)
        )
        rows = sorted((await s.scalars(stmt)).all(), key=lambda r: r.id)
    return rows, until


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
