"""The durable inbox: an event is acknowledged only after its row has committed.

Rules:
- Every accepted event is stored under its unique ``dedup_key``; a redelivery finds the key,
  is answered the same way, and has no second effect.
- Writes go through one writer task that commits whatever arrived meanwhile in a single
  transaction (group commit): many concurrent callbacks cost one fsync, not one each. A submit
  alone after a quiet spell (``QUIET_S`` since the previous one, nothing queued or being
  written) writes its row in its own task instead: the same transaction, without two hand-offs.
- On SQLite a thread of its own does each batch's writing (storage/sqlite_thread.py): the write
  lock is held for the writing only, not for the event loop's turns in between.
- If the database cannot store an event, the caller gets an exception (the web layer answers
  503 so the platform retries) — never an acknowledgement of something not stored.
- Each event's row is built and JSON-encoded on its own before it joins a batch: an event that
  cannot be encoded fails its own ``submit`` (``Unstorable``), never the batch it would share.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from bot.clock import Clock
from bot.events import Event, UnknownEvent, to_payload
from storage.db import Database
from storage.models import InboxEvent
from storage.sqlite_thread import PAYLOAD_JSON

log = logging.getLogger("groupbot.inbox")
# a submit this long after the previous one, with nothing being written, writes its own row
# instead of handing it to the writer task (at everyday load the hand-off costs more than the
# write); closer together they queue for the writer, which commits them together
QUIET_S = 0.005


@dataclass(frozen=True, slots=True)
class Stored:
    """The outcome of storing one event: ``new`` is False for a duplicate."""

    new: bool
    dedup_key: str


class Unstorable(ValueError):
    """An event whose row cannot be encoded: no retry will ever store it."""


def bodiless(event: Event) -> Event:
    """``event`` with only where and when it happened: what the inbox keeps of an event from
    a group the bot ignores (``[bot] unknown_groups = "ignore"``) — its key answers a
    redelivery and its row counts, but no member's words or data are kept."""
    return type(event)(event.dedup_key, event.platform, event.group_id, event.occurred_at)


def inbox_row(event: Event, now: datetime) -> dict[str, Any]:
    """The inbox row for an event (also used by handlers that emit follow-up events).

    An event no feature handles (``UnknownEvent``: unknown kinds, notices) keeps its row for
    dedup and counting but not the platform's body: thousands of ignored notices must not
    each keep kilobytes of member data."""
    if isinstance(event, UnknownEvent):
        event = replace(event, raw={})
    return dict(
        dedup_key=event.dedup_key[:200],
        platform=event.platform,
        kind=event.kind,
        group_id=event.group_id,
        payload=to_payload(event),
        status="queued",
        attempts=0,
        next_attempt_at=now,
        last_error="",
        received_at=now,
    )


def checked_row(event: Event, now: datetime) -> dict[str, Any]:
    """``inbox_row``, refused (``Unstorable``) when its payload does not encode as JSON. The
    encoded text rides along under ``PAYLOAD_JSON`` (SQLite's writer thread stores it as is:
    encoded once, not twice)."""
    row = inbox_row(event, now)
    try:
        # the JSON column's own encoder, run here on this row alone
        row[PAYLOAD_JSON] = json.dumps(row["payload"])
    except (ValueError, TypeError, RecursionError) as exc:
        raise Unstorable(f"{event.dedup_key[:60]}: payload cannot be encoded: {exc}") from exc
    return row


class Inbox:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        on_stored: Callable[[int], None] = lambda _n: None,
        batch_max: int = 500,
    ) -> None:
        self.db = db
        self.clock = clock
        self.on_stored = on_stored
        self.batch_max = batch_max
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[Stored]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self._last_submit = -QUIET_S
        self._writing = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._writer(), name="inbox-writer")

    async def stop(self) -> None:
        """Finish what was submitted, then stop the writer."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout=10)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def submit(self, event: Event) -> Stored:
        """Store ``event`` durably; returns once committed (raises if it could not be).

        Cancelling the caller (a request's time bound) stops only its waiting: a row handed
        to the writer task is written all the same, and a lone row's write in progress goes
        on to its commit or rollback."""
        row = checked_row(event, self.clock.now())
        if self._task is None:
            return (await self._write([row]))[0]
        now = time.monotonic()
        quiet = now - self._last_submit >= QUIET_S
        self._last_submit = now
        if quiet and not self._writing and self._queue.empty():
            self._writing += 1  # alone after a quiet spell: written here, no hand-off
            try:
                if self.db.thread_writer() is None:  # a network round trip: not cut short
                    return (await asyncio.shield(self._write([row])))[0]
                return (await self._write([row]))[0]
            finally:
                self._writing -= 1
        fut: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((row, fut))
        return await fut

    async def _writer(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._writing += 1
            try:
                results = await self._write([r for r, _ in batch])
            except Exception as exc:
                log.error("inbox write failed for %d events: %s", len(batch), exc)
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                    self._queue.task_done()
                continue
            finally:
                self._writing -= 1
            for (_, fut), res in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(res)
                self._queue.task_done()

    async def _write(self, rows: list[dict[str, Any]]) -> list[Stored]:
        writer = self.db.thread_writer()
        if writer is not None:
            return self._stored(rows, await writer.insert_inbox(rows))
        table = InboxEvent.__table__
        async with self.db.connection() as conn:
            mod = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = (
                mod.insert(table)
                .on_conflict_do_nothing(index_elements=["dedup_key"])
                .returning(table.c.dedup_key)
            )
            # a fixed key order: concurrent batches from other instances lock keys in the same
            # order, so two instances inserting the same events never deadlock
            plain = [{k: v for k, v in r.items() if k != PAYLOAD_JSON} for r in rows]
            result = await conn.execute(stmt, sorted(plain, key=lambda r: r["dedup_key"]))
            inserted = set(result.scalars().all())
        return self._stored(rows, inserted)

    def _stored(self, rows: list[dict[str, Any]], inserted: set[str]) -> list[Stored]:
        self.batches += 1
        out: list[Stored] = []
        seen: set[str] = set()
        for r in rows:
            key = r["dedup_key"]
            out.append(Stored(new=key in inserted and key not in seen, dedup_key=key))
            seen.add(key)
        if inserted:
            self.on_stored(len(inserted))
        return out
