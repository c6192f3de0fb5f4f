"""The small hot writes of SQLite, done by one thread of their own.

Acknowledgements wait for their events' commit, and every writer waits while another holds the
database's write lock. Written by the event loop, a commit waits for the loop's turn; on a busy
loop (a burst of webhooks, a batch being handled) acknowledgements would wait for handlers.
Here one thread takes the lock, writes and commits in one go — for the inbox's inserts and the
outbox's "sent" marks — with values encoded as SQLAlchemy encodes them (each column's bind
processor).

Rules:
- Inbox: one transaction per batch; the keys already stored are read, the rest inserted
  (``ON CONFLICT (dedup_key) DO NOTHING``); the answer says which keys were new.
- Outbox marks: one ``UPDATE … WHERE id IN (…)`` in its own transaction.
- A single row (an inbox event at everyday load) or one message's mark (``SMALL_MARK`` rows at
  most: merged replies) is written on the event loop itself when the lock is free — the same
  transaction, committed before the caller goes on, without the two hand-offs; it never waits
  there (a lock held elsewhere sends it to the thread) and never checkpoints.
- The lock is the database's ``WriteLock``: its in-process queue is taken on the event loop,
  the lock file (several processes) by the thread, which releases it as soon as it commits.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite as sqlite_dialect

from storage.db import BUSY_TIMEOUT_MS
from storage.models import InboxEvent, OutboxMessage
from storage.sqlite_inline import BUSY_CODES
from storage.writelock import WriteLock

T = TypeVar("T")

_DIALECT = sqlite_dialect.dialect()


def _processors(table: Table) -> dict[str, Any]:
    return {c.name: c.type.bind_processor(_DIALECT) for c in table.c}


_INBOX = InboxEvent.__table__
_INBOX_COLS = [c.name for c in _INBOX.c if c.name != "id"]
_PROC = {"inbox": _processors(_INBOX), "outbox": _processors(OutboxMessage.__table__)}
_INSERT = "INSERT INTO inbox ({}) VALUES ({}) ON CONFLICT (dedup_key) DO NOTHING".format(
    ", ".join(_INBOX_COLS), ", ".join("?" for _ in _INBOX_COLS)
)


# a mark of at most this many rows (one message, merged replies included) is a small write
SMALL_MARK = 32
# an inbox row's payload already encoded as JSON (by the inbox, which checks that it encodes)
PAYLOAD_JSON = "payload_json"


def encode(table: str, column: str, value: Any) -> Any:
    p = _PROC[table][column]
    return p(value) if p is not None and value is not None else value


class ThreadWriter:
    def __init__(self, path: str, lock: WriteLock) -> None:
        self.path = path
        self.lock = lock
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._con: sqlite3.Connection | None = None
        self._inline_con: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._con is None:
            con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._con = con
        return self._con

    def _in_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        con = self._connect()
        self.lock.acquire_file()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                out = work(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            return out
        finally:
            self.lock.release_file()

    async def _run(self, work: Callable[[sqlite3.Connection], T], *, small: bool = False) -> T:
        """Run ``work`` in a transaction: inline when ``small`` and the lock is free, else on
        the thread. A caller that stops waiting (a request's time bound) does not stop the
        thread's write, and the lock stays held until that write has ended."""
        loop = asyncio.get_running_loop()
        local = self.lock.local
        await local.acquire()
        try:
            got: list[T] = []
            if small and self._inline(work, got):
                local.release()
                return got[0]
            done = loop.run_in_executor(self._pool, self._in_transaction, work)
        except BaseException:
            local.release()
            raise
        done.add_done_callback(lambda _f: local.release())
        return await asyncio.shield(done)

    def _inline(self, work: Callable[[sqlite3.Connection], T], got: list[T]) -> bool:
        """A small write done on the event loop itself while nothing else holds the database:
        at everyday load the hand-off to the thread and back costs more than the write. It
        never waits: the lock file or the database held elsewhere (another process, a
        backup) leaves the write to the thread, and this connection never checkpoints."""
        if not self.lock.try_file():
            return False
        try:
            con = self._inline_connect()
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) in BUSY_CODES:
                    return False
                raise
            try:
                got.append(work(con))
                con.execute("COMMIT")
            except BaseException:
                got.clear()
                con.execute("ROLLBACK")
                raise
            return True
        finally:
            self.lock.release_file()

    def _inline_connect(self) -> sqlite3.Connection:
        if self._inline_con is None:
            con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("PRAGMA busy_timeout=0")  # busy: the thread writes it instead
            con.execute("PRAGMA wal_autocheckpoint=0")  # (checkpoints stay off the loop)
            self._inline_con = con
        return self._inline_con

    async def insert_inbox(self, rows: list[dict[str, Any]]) -> set[str]:
        """Store inbox rows (``inbox_row`` dicts, the payload as JSON text under
        ``PAYLOAD_JSON`` when given); returns the dedup keys that were new."""
        keys = [r["dedup_key"] for r in rows]
        values = [
            tuple(
                r[PAYLOAD_JSON]
                if c == "payload" and PAYLOAD_JSON in r
                else encode("inbox", c, r.get(c))
                for c in _INBOX_COLS
            )
            for r in rows
        ]

        def work(con: sqlite3.Connection) -> set[str]:
            if len(values) == 1:  # one row: the insert itself says whether its key was new
                return set(keys) if con.execute(_INSERT, values[0]).rowcount == 1 else set()
            have: set[str] = set()
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ", ".join("?" for _ in chunk)
                sql = f"SELECT dedup_key FROM inbox WHERE dedup_key IN ({marks})"
                have.update(k for (k,) in con.execute(sql, chunk))
            con.executemany(_INSERT, values)
            return {k for k in keys if k not in have}

        return await self._run(work, small=len(rows) == 1)

    async def update_outbox(self, ids: list[int], values: dict[str, Any]) -> None:
        """``UPDATE outbox SET values WHERE id IN ids`` in a transaction of its own."""
        cols = sorted(values)
        sets = ", ".join(f"{c} = ?" for c in cols)
        params = [encode("outbox", c, values[c]) for c in cols]

        def work(con: sqlite3.Connection) -> None:
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ", ".join("?" for _ in chunk)
                con.execute(f"UPDATE outbox SET {sets} WHERE id IN ({marks})", params + chunk)

        await self._run(work, small=len(ids) <= SMALL_MARK)

    def close(self) -> None:
        if self._inline_con is not None:
            self._inline_con.close()
            self._inline_con = None
        if self._con is not None:
            con, self._con = self._con, None
            self._pool.submit(con.close).result()
        self._pool.shutdown(wait=True)
