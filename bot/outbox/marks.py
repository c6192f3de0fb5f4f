"""Recording delivery outcomes: a platform's acceptance is recorded before anything else can
fail.

Rules:
- An outcome (sent, retried, held, dead) is written as soon as it is known, in a transaction
  of its own — ``UPDATE outbox … WHERE id IN (…)``, on SQLite by the writer thread
  (storage/sqlite_thread.py), on PostgreSQL as one autocommitted statement (one round trip,
  committed when it returns) — and waits for no other send.
- An outcome the database refuses (disk full, read-only file, a foreign write lock) is kept in
  memory and written again — never the send — every ``MARK_RETRY_S`` until it sticks. While
  one is kept, the worker starts no send (``pending``), so the sends whose outcome is not on
  disk stay within the worker's in-flight window, and /healthz says the database takes no
  writes.
"""

from __future__ import annotations

import logging
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
        async with self.db.autocommit() as conn:
            await direct.run(conn, _mark(tuple(sorted(values))), {**values, "mark_ids": ids})


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
