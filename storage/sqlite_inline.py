"""SQLite for the async engine without a thread hop per call.

aiosqlite runs every driver call in a thread of its own connection and wakes the event loop for
each answer: opening a cursor, executing, fetching and closing are four round trips per
statement, a transaction's BEGIN and COMMIT more. Each round trip costs a thread wake-up and a
loop wake-up (~0.1 ms of CPU here), so a read session of one query cost ~1.7 ms of CPU — more
than the query, the ORM and the handlers together at everyday load. SQLite answers this
project's statements in microseconds, so the engine calls ``sqlite3`` directly on the loop
(SQLAlchemy's async engine runs the statement in a greenlet, which needs no awaiting here).

Rules:
- Same dialect, SQL and type handling as ``sqlite+aiosqlite`` (this is the same SQLAlchemy
  dialect given another DBAPI module); results are fetched whole at execute, as aiosqlite's
  adapter does.
- Never block the loop waiting for a lock: the connections have no busy timeout; a statement
  that finds the database locked (SQLITE_BUSY: another process writing) is retried after an
  asyncio sleep, with SQLite's own back-off, until ``BUSY_TIMEOUT_MS`` — then it fails as it
  would have. A busy statement has changed nothing, so running it again is safe.
- Writers inside the process queue on the database's ``WriteLock`` before they begin, so
  they never find each other busy; the small hot writes that must not wait for the loop keep
  their own thread (storage/sqlite_thread.py).
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

# SQLite's default busy handler sleeps these many ms between tries (sqlite3.c, sqliteDefaultBusy)
BACKOFF_MS = (1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100)
BUSY_CODES = {sqlite3.SQLITE_BUSY, getattr(sqlite3, "SQLITE_BUSY_RECOVERY", 261)}


def _busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in BUSY_CODES


async def retry_busy(timeout_ms: int, call: Any, *args: Any) -> Any:
    """``call(*args)``, run again while SQLite answers busy, sleeping without blocking the
    loop, until ``timeout_ms`` have passed. (Awaited through the engine's greenlet: also what
    tells SQLAlchemy's async engine that the driver ran.)"""
    deadline = time.monotonic() + timeout_ms / 1000
    tries = 0
    while True:
        try:
            return call(*args)
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(BACKOFF_MS[min(tries, len(BACKOFF_MS) - 1)] / 1000)
        tries += 1


class InlineCursor:
    """The DBAPI cursor SQLAlchemy's async engine expects, over a ``sqlite3`` cursor."""

    server_side = False
    __slots__ = ("_cursor", "_rows", "_timeout_ms", "arraysize")

    def __init__(self, con: sqlite3.Connection, timeout_ms: int) -> None:
        self._cursor = con.cursor()
        self._rows: collections.deque[Any] = collections.deque()
        self._timeout_ms = timeout_ms
        self.arraysize = 1

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> None:
        cur = self._cursor
        if parameters is None:
            await_(retry_busy(self._timeout_ms, cur.execute, operation))
        else:
            await_(retry_busy(self._timeout_ms, cur.execute, operation, parameters))
        if cur.description:  # fetched whole now, as the aiosqlite adapter does
            self._rows = collections.deque(cur.fetchall())

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> None:
        await_(retry_busy(self._timeout_ms, self._cursor.executemany, operation, seq_of_parameters))

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        n = self.arraysize if size is None else size
        rows = self._rows
        return [rows.popleft() for _ in range(min(n, len(rows)))]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def __iter__(self) -> Any:
        while self._rows:
            yield self._rows.popleft()

    def setinputsizes(self, *sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def close(self) -> None:
        self._rows.clear()
        self._cursor.close()

    async def _async_soft_close(self) -> None:
        """(The async result calls this; the rows are already fetched.)"""


class InlineConnection(AsyncAdapt_aiosqlite_connection):
    """A ``sqlite3`` connection behind SQLAlchemy's aiosqlite connection interface."""

    __slots__ = ("timeout_ms",)
    _connection: Any

    def __init__(self, dbapi: Any, connection: sqlite3.Connection, timeout_ms: int) -> None:
        # (a plain sqlite3 connection where the base class expects an awaitable one: every
        # method that would await it is overridden below)
        super().__init__(dbapi, connection)  # type: ignore[arg-type]
        self.timeout_ms = timeout_ms

    @property
    def raw(self) -> sqlite3.Connection:
        """The ``sqlite3`` connection itself (storage/direct.py runs prepared queries on it)."""
        con: sqlite3.Connection = self._connection
        return con

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level  # type: ignore[no-any-return]

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value

    def cursor(self, server_side: bool = False) -> InlineCursor:  # type: ignore[override]
        return InlineCursor(self._connection, self.timeout_ms)

    def create_function(self, *args: Any, **kw: Any) -> None:
        self._connection.create_function(*args, **kw)

    def commit(self) -> None:
        await_(retry_busy(self.timeout_ms, self._connection.commit))

    def rollback(self) -> None:
        self._connection.rollback()

    def close(self) -> None:
        self._connection.close()

    async def _terminate_graceful_close(self) -> None:
        self._connection.close()

    def _terminate_force_close(self) -> None:
        self._connection.close()


class InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module for the aiosqlite dialect that connects with plain ``sqlite3``."""

    def __init__(self, timeout_ms: int) -> None:
        super().__init__(aiosqlite, sqlite3)
        self.timeout_ms = timeout_ms

    def connect(self, *arg: Any, **kw: Any) -> InlineConnection:
        kw.pop("async_creator_fn", None)
        kw["check_same_thread"] = False  # (pooled: closed from whatever thread disposes)
        con = sqlite3.connect(*arg, **kw)
        return InlineConnection(self, con, self.timeout_ms)
