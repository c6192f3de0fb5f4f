"""Recording delivery outcomes: a platform's acceptance is recorded before anything else can
fail.

Rules:
- An outcome (sent, retried, held, dead) is written as soon as it is known, in a transaction
  of its own — ``UPDATE outbox … WHERE id IN (…)``, on SQLite by the writer thread
  (storage/sqlite_thread.py), on PostgreSQL autocommitted (one round trip, committed when it
  returns) — and waits for no other send. On PostgreSQL the outcomes recorded while one write
  is on its way go together in the next (one statement per column set, the driver's
  pipelined executemany): a record waits for at most the write before its own, and its caller
  goes on only once its own outcome is committed.
- An outcome the database refuses (disk full, read-only file, a foreign write lock) is kept in
  memory and written again — never the send — every ``MARK_RETRY_S`` until it sticks. While
  one is kept, the worker starts no send (``pending``), so the sends whose outcome is not on
  disk stay within the worker's in-flight window, and /healthz says the database takes no
  writes.
"""

from __future__ import annotations

import asyncio
import logging
from itertools import groupby
from typing import Any

from sqlalchemy import bindparam, update

from storage import direct
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger("groupbot.outbox")
MARK_RETRY_S = 1.0


class Marks:
    """The outbox's outcome writer, with the outcomes the database has not taken yet."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # outcomes (row ids → column values) the database has not taken yet: written again
        # before anything else, so a delivered row is never sent again for a failed mark
        self._unwritten: dict[tuple[int, ...], dict[str, Any]] = {}
        # PostgreSQL: outcomes waiting for the write on its way (None when none is)
        self._queue: list[tuple[list[int], dict[str, Any], asyncio.Future[None]]] = []
        self._busy: asyncio.Future[None] | None = None

    @property
    def pending(self) -> int:
        """How many outcomes wait for the database to take them (0 when all is written)."""
        return len(self._unwritten)

    async def flush(self) -> bool:
        """Write the outcomes kept in memory; True when none is left."""
        for ids, values in list(self._unwritten.items()):
            try:
                await self._write(list(ids), values)
            except Exception as exc:
                log.error("outbox %s: outcome still not written: %s", list(ids), exc)
                return False
            del self._unwritten[ids]
            log.info("outbox %s: outcome written", list(ids))
        return True

    async def record(self, ids: list[int], **values: Any) -> None:
        """Record an outcome now; one the database refuses is kept and written later."""
        try:
            await self._write(ids, values)
        except Exception as exc:
            log.error("outbox %s: cannot record %s: %s", ids, values.get("status", "retry"), exc)
            self._unwritten[tuple(ids)] = values

    async def _write(self, ids: list[int], values: dict[str, Any]) -> None:
        writer = self.db.thread_writer()
        if writer is not None:  # SQLite: a short transaction in a thread of its own
            await writer.update_outbox(ids, values)
            return
        if self.db.dialect != "postgresql":  # (SQLite in memory)
            stmt = update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**values)
            async with self.db.transaction() as s:
                await s.execute(stmt)
            return
        done = asyncio.get_running_loop().create_future()
        self._queue.append((ids, values, done))
        while not done.done():
            if self._busy is not None:  # a write is on its way: wait for it, then look again
                await asyncio.shield(self._busy)
                continue
            todo, self._queue = self._queue, []
            self._busy = asyncio.get_running_loop().create_future()
            try:
                await self._write_together(todo)
            except Exception as exc:  # (no connection): every outcome of it is refused
                for *_, fut in todo:
                    if not fut.done():
                        fut.set_exception(exc)
            finally:
                busy, self._busy = self._busy, None
                busy.set_result(None)
                # (cancelled mid-write: what it did not answer is written by the next writer)
                self._queue[:0] = [t for t in todo if not t[2].done()]
        done.result()

    async def _write_together(
        self, todo: list[tuple[list[int], dict[str, Any], asyncio.Future[None]]]
    ) -> None:
        """PostgreSQL: the outcomes in one statement per column set, each committed on its own
        (autocommit); each outcome's future gets its statement's answer."""

        def cols(t: tuple[list[int], dict[str, Any], Any]) -> tuple[str, ...]:
            return tuple(sorted(t[1]))

        async with self.db.autocommit() as conn:
            for key, group in groupby(sorted(todo, key=cols), key=cols):
                items = list(group)
                params = [{**values, "mark_ids": ids} for ids, values, _ in items]
                try:
                    await direct.run(conn, _mark(key), params[0] if len(params) == 1 else params)
                except Exception as exc:
                    for *_, fut in items:
                        fut.set_exception(exc)
                    continue
                for *_, fut in items:
                    fut.set_result(None)


_O = OutboxMessage.__table__
_MARKS: dict[tuple[str, ...], Any] = {}  # column set -> the statement, built once


def _mark(cols: tuple[str, ...]) -> Any:
    stmt = _MARKS.get(cols)
    if stmt is None:
        where = _O.c.id.in_(bindparam("mark_ids", expanding=True))
        stmt = _MARKS[cols] = direct.prepared(
            update(_O).where(where).values({c: bindparam(c) for c in cols})
        )
    return stmt
