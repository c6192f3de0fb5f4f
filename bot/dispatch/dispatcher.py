"""Runs stored events through the routers, one unit of work per event.

Rules:
- Events are taken from the inbox in id order, a batch at a time, and the batch's effects and
  its "done" marks commit together — a crash before the commit re-runs it cleanly.
- Fast path: the whole batch shares one ``Batch`` (bot/dispatch/batch.py): the features'
  repositories read what the events need in bulk (``Repository.preload``), and the rows they
  write go out in one statement per table. Any error rolls the batch back and the events run
  again one savepoint each (slow path, nothing cached), so a failing event or a constraint
  hit never takes others with it.
- On PostgreSQL several instances share the inbox: a batch is taken with ``FOR UPDATE SKIP
  LOCKED`` and stays locked until its transaction ends, so no two instances run one event;
  and a group's events run on one instance at a time (see ``_own_groups``).
- A handler error rolls back that event only; it is retried with backoff on the monotonic
  clock (bot/dispatch/retries.py), and after ``max_attempts`` it ends as ``failed`` with the
  error kept for admins. Never dropped silently.
- What one event runs (tracking, commands, roles, the routes): bot/dispatch/routing.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from sqlalchemy import Text, bindparam, select, text, type_coerce, update

from bot import adoptions
from bot.dispatch.batch import Batch
from bot.dispatch.context import Context
from bot.dispatch.retries import Retries
from bot.dispatch.routing import run_handlers
from bot.dispatch.tracking import KNOWN_GROUPS, preload_members
from bot.events import Event, from_payload
from bot.logs import event_id_var
from bot.outbox.queue import QUEUED
from bot.services import Services
from storage import direct
from storage.direct import prepared
from storage.models import InboxEvent

log = logging.getLogger("groupbot.dispatch")
# a batch reads without the write lock (storage/db.py batch_transaction) and writes at the end
BATCH_BUDGET_S = 0.2
# PostgreSQL has no single write lock for acks to wait on: longer batches, fewer commits
PG_BATCH_BUDGET_S = 0.1
SKIPPED_PAUSE_S = 0.02
# events are read and preloaded this many at a time; the time budget is checked between chunks
PRELOAD_CHUNK = 250
# the longest a batch handles events without letting the loop's other work (acks) run
YIELD_S = 0.002


class Dispatcher:
    def __init__(self, services: Services, max_attempts: int = 5) -> None:
        self.services = services
        self.max_attempts = max_attempts
        self.retries = Retries(services.db, services.clock, max_attempts)
        self.processed = 0
        self.failed = 0
        # set by run_once: the last batch took every event that was due when it looked, so
        # another look finds only what was stored since (and that wakes the dispatch loop)
        self.drained = False
        # set by run_once: the batch queued outbox rows (the delivery loop has work)
        self.queued_outbox = False

    async def run_once(self, limit: int | None = None) -> int:
        """Process one batch of due events; returns how many were taken.

        Fast path: the batch runs in one transaction without savepoints, its events read and
        preloaded ``PRELOAD_CHUNK`` at a time, stopping after the chunk that spends
        ``BATCH_BUDGET_S``; its rows are written and its events marked done at the end. If any
        event (or the writing) fails, the transaction is rolled back and the events up to the
        failing one are re-run one savepoint each (slow path).
        """
        db = self.services.db
        await adoptions.refresh(self.services, after_batch=True)  # groups adopted since
        await self.retries.release()  # retries whose delay passed in monotonic time
        limit = limit or self.services.config.storage.batch_size
        q = _DUE_PG if db.dialect == "postgresql" else _DUE
        params = {"now": self.services.clock.now(), "limit": limit}
        failed_at: int | None = None
        self.queued_outbox = False
        async with db.batch_transaction() as session:
            rows = (await direct.run(await session.connection(), q, params)).all()
            taken = len(rows)
            if db.dialect == "postgresql":
                rows = await self._own_groups(session, rows)
            done: list[int] = []
            budget = PG_BATCH_BUDGET_S if db.dialect == "postgresql" else BATCH_BUDGET_S
            started = turned = time.perf_counter()
            batch = Batch(session)
            try:
                for start in range(0, len(rows), PRELOAD_CHUNK):
                    part = rows[start : start + PRELOAD_CHUNK]
                    failed_at = start
                    events = [_parse(r.payload) for r in part]
                    await self._preload(batch, [e for e in events if e is not None])
                    for i, (row, event) in enumerate(zip(part, events, strict=True)):
                        failed_at = start + i
                        await self._run(session, row.id, event or row.payload, batch)
                        done.append(row.id)
                        # SQLite runs on the loop: let acknowledgements through, every
                        # YIELD_S of handling (a turn per event thrashes both paths' caches)
                        if time.perf_counter() - turned > YIELD_S:
                            await asyncio.sleep(0)
                            turned = time.perf_counter()
                    if time.perf_counter() - started > budget:
                        break
                failed_at = len(done) - 1  # a constraint hit while writing: retry them all
                await batch.flush()
                await self._mark_done(session, done)
                failed_at = None
                self.queued_outbox = bool(session.info.pop(QUEUED, False))
            except Exception:
                await session.rollback()
                self.services.state.pop(KNOWN_GROUPS)  # caches may name rolled-back rows
            finally:
                batch.close()
        self.drained = False
        if failed_at is None:
            self.processed += len(done)
            skipped = taken - len(rows)
            more = skipped or batch.emitted or len(done) < len(rows)
            self.drained = taken < limit and not more
            if skipped and not done:  # all of it belongs to groups busy elsewhere: let them be
                await asyncio.sleep(SKIPPED_PAUSE_S)
            # events left to another instance's groups count as taken: look again soon
            return len(done) + skipped
        retry = rows[: max(failed_at, 0) + 1]
        async with db.transaction() as session:
            if db.dialect == "postgresql":  # the rollback freed the rows: take them again
                retry = await self._relock(session, retry)
            for row in retry:
                await self._one(session, row)
            self.queued_outbox = True  # (cheaper to look than to know which event stuck)
        return len(retry)

    async def anything_due(self) -> bool:
        """The idle look: adoptions and retries taken in as ``run_once`` takes them, then
        whether any event is due, on the read path (cheaper than an empty batch)."""
        await adoptions.refresh(self.services, after_batch=True)
        await self.retries.release()
        return await self.services.db.peek(_ANY_DUE, {"now": self.services.clock.now()}) is not None

    async def _preload(self, batch: Batch, events: list[Event]) -> None:
        await preload_members(batch, events)
        for repo in self.services.preloaders:
            await repo.shared(batch).preload(events, self.services)

    @classmethod
    async def _relock(cls, session: Any, rows: list[Any]) -> list[Any]:
        """The rows still queued and not taken by another instance meanwhile."""
        ids = select(InboxEvent.id).where(
            InboxEvent.id.in_([r.id for r in rows]), InboxEvent.status == "queued"
        )
        got = set((await session.scalars(ids.with_for_update(skip_locked=True))).all())
        return await cls._own_groups(session, [r for r in rows if r.id in got])

    @staticmethod
    async def _own_groups(session: Any, rows: list[Any]) -> list[Any]:
        """The rows whose group no other instance is processing right now.

        One group is processed by one instance at a time (a transaction-scoped advisory lock
        per group, tried without waiting): events of one group touch the same member and
        counter rows, and two batches taking those row locks in different orders deadlock."""
        groups = sorted({r.group_id for r in rows if r.group_id is not None})
        if not groups:
            return rows
        found = await session.execute(
            text(
                "SELECT g FROM unnest(CAST(:groups AS text[])) AS g"
                " WHERE pg_try_advisory_xact_lock(hashtextextended(g, 7001))"
            ),
            {"groups": groups},
        )
        mine = set(found.scalars().all())
        return [r for r in rows if r.group_id is None or r.group_id in mine]

    async def _mark_done(self, session: Any, ids: list[int]) -> None:
        if ids:
            params = {"ids": ids, "at": self.services.clock.now()}
            await direct.run(await session.connection(), _MARK_DONE, params)

    async def _run(
        self,
        session: Any,
        event_id: int,
        payload: str | dict[str, Any] | Event,
        batch: Batch | None = None,
    ) -> None:
        token = event_id_var.set(event_id)
        try:
            event = payload if isinstance(payload, Event) else _load(payload)
            ctx = Context(
                self.services,
                session,
                event,
                event_id=event_id,
                batch=batch or Batch(session, deferred=False),
            )
            await run_handlers(ctx)
        finally:
            event_id_var.reset(token)

    async def _one(self, session: Any, row: Any) -> None:
        """Slow path: one savepoint per event; a failure is recorded and retried later."""
        try:
            async with session.begin_nested():
                await self._run(session, row.id, row.payload)
                await self._mark_done(session, [row.id])
            self.processed += 1
        except Exception as exc:  # one bad event must not stop the others
            self.services.state.pop(KNOWN_GROUPS)
            token = event_id_var.set(row.id)
            log.exception("event %s (%s) failed", row.id, row.kind)
            event_id_var.reset(token)
            values = self.retries.failed(row.id, row.attempts + 1, exc)
            if values.get("status") == "failed":
                self.failed += 1
            await session.execute(
                update(InboxEvent).where(InboxEvent.id == row.id).values(**values)
            )


# built once (building a statement costs more than running it); the payload stays raw text
# until its event is actually run (a batch may stop early)
_DUE = prepared(
    select(
        InboxEvent.id,
        InboxEvent.kind,
        type_coerce(InboxEvent.payload, Text).label("payload"),
        InboxEvent.attempts,
        InboxEvent.group_id,
    )
    .where(InboxEvent.status == "queued", InboxEvent.next_attempt_at <= bindparam("now"))
    .order_by(InboxEvent.id)
    .limit(bindparam("limit"))
)  # (run on the session's connection: the ORM adds nothing to a plain column query)
_ANY_DUE = prepared(
    select(InboxEvent.id)
    .where(InboxEvent.status == "queued", InboxEvent.next_attempt_at <= bindparam("now"))
    .limit(1)
)
_DUE_PG = prepared(_DUE.with_for_update(skip_locked=True))
_MARK_DONE = prepared(
    update(InboxEvent.__table__)
    .where(InboxEvent.id.in_(bindparam("ids", expanding=True)))
    .values(status="done", processed_at=bindparam("at"), attempts=InboxEvent.attempts + 1)
)


def _load(payload: str | dict[str, Any]) -> Event:
    return from_payload(json.loads(payload) if isinstance(payload, str) else payload)


def _parse(payload: str | dict[str, Any]) -> Event | None:
    """The stored event, or None when it cannot be read (its own run reports why)."""
    try:
        return _load(payload)
    except Exception:
        return None
