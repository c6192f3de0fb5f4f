"""Engine and unit of work.

SQLite rules (DESIGN.md): WAL, ``synchronous=NORMAL``, ``busy_timeout``, foreign keys on, and
``BEGIN IMMEDIATE`` for every writing transaction — a deferred transaction that later wants to
write fails with "database is locked" under concurrent load. Read-only sessions use a plain
``BEGIN`` so they never block the writer (WAL readers see the last commit).

A dispatcher batch on SQLite reads first and writes last (``batch_transaction``): it begins as a
reader, and its first writing statement ends that read and begins ``IMMEDIATE`` under the
in-process write lock. Acknowledgements (inbox writes) then wait for the batch's short write
phase only, not for all its handlers. Rows the batch read may have been changed meanwhile by
another writer (a WeCom sync, the API) — the batch's inserts then fail on their unique
constraint and the events are retried one by one; its updates set only the columns it changed.

The engine calls ``sqlite3`` on the event loop (storage/sqlite_inline.py), not through
aiosqlite's thread: a statement costs no thread hand-offs, and a lock held by another process
is waited for with asyncio sleeps, never by blocking the loop.

PostgreSQL (asyncpg): the driver's own ``BEGIN`` (READ COMMITTED) and no in-process write queue
— concurrent writers, and other instances, are kept apart by row locks and unique constraints.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

from storage import direct
from storage.kept import Keeper
from storage.writelock import WriteLock

BUSY_TIMEOUT_MS = 5000
ESCALATE = "groupbot_escalate"  # conn.info key: called before a batch's first write


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine with the SQLite pragmas and transaction mode set."""
    if url.startswith("postgresql"):
        # an instance runs the inbox writer, a dispatcher and one delivery per target at once
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    inline = url.startswith("sqlite+aiosqlite:")
    if inline:  # the aiosqlite dialect, but sqlite3 called on the loop (storage/sqlite_inline.py)
        from storage.sqlite_inline import InlineDBAPI

        kwargs.setdefault("module", InlineDBAPI(BUSY_TIMEOUT_MS))
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        # inline connections wait for locks in their own retry loop, never on the event loop
        _sqlite_setup(engine, 0 if inline else BUSY_TIMEOUT_MS)
    return engine


def _sqlite_setup(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # take transaction control away from the driver; we emit BEGIN ourselves
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        opts = conn.get_execution_options()
        reader = opts.get("readonly", False) or opts.get("read_then_write", False)
        # on the driver's cursor: every unit of work begins here, and SQLAlchemy's statement
        # path costs ten times the BEGIN itself
        sql = "BEGIN" if reader else "BEGIN IMMEDIATE"
        cur = conn.connection.dbapi_connection.cursor()
        error = conn.dialect.loaded_dbapi.Error
        try:
            cur.execute(sql)
        except error as e:  # raised as SQLAlchemy raises it (OperationalError: locked …)
            raise exc.DBAPIError.instance(sql, (), e, error, dialect=conn.dialect) from e
        finally:
            cur.close()

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before_write(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        escalate = conn.info.get(ESCALATE)
        if escalate is not None and not statement.lstrip()[:6].upper().startswith("SELECT"):
            del conn.info[ESCALATE]
            escalate(conn)


class Database:
    """Owns the engine; hands out write units of work and read-only sessions."""

    def __init__(self, url: str, *, shared_writers: bool = False, **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **kwargs)
        self.dialect = self.engine.dialect.name
        self._write = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_engine = self.engine.execution_options(readonly=True)
        self._autocommit_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read = async_sessionmaker(self._read_engine, expire_on_commit=False)
        batch_engine = self.engine.execution_options(read_then_write=True)
        self._batch = async_sessionmaker(batch_engine, expire_on_commit=False)
        # SQLite has one writer; queueing our own writers here keeps them out of SQLite's busy
        # handler, which sleeps up to 100 ms per retry and would dominate ack latency.
        # (several processes writing one file — split_worker — also queue on a lock file)
        self._write_lock: WriteLock | None = None
        self.sqlite_path = ""  # the database file (SQLite on disk), for writers of their own
        self._thread_writer: Any = None
        # the dispatcher's and the delivery loop's connections, kept between uses (SQLite)
        self._kept_batch: Keeper | None = None
        self._kept_read: Keeper | None = None
        if self.dialect == "sqlite":
            path = self.engine.url.database or ""
            self.sqlite_path = "" if path in ("", ":memory:") else path
            shared = shared_writers and path not in ("", ":memory:")
            self._write_lock = WriteLock(path + ".writelock" if shared else None)
            self._kept_batch = Keeper(batch_engine)
            self._kept_read = Keeper(self._read_engine)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any error."""
        if self._write_lock is None:
            async with self._write() as session, session.begin():
                yield session
            return
        async with self._write_lock, self._write() as session, session.begin():
            yield session

    def thread_writer(self) -> Any:
        """The thread that does the hot small writes on SQLite (storage/sqlite_thread.py), or
        None (PostgreSQL, or SQLite in memory)."""
        if not self.sqlite_path or self._write_lock is None:
            return None
        if self._thread_writer is None:
            from storage.sqlite_thread import ThreadWriter

            self._thread_writer = ThreadWriter(self.sqlite_path, self._write_lock)
        return self._thread_writer

    @asynccontextmanager
    async def batch_transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that reads first and takes the write lock at its first write
        (SQLite; elsewhere the same as ``transaction``)."""
        if self._write_lock is None:
            async with self.transaction() as session:
                yield session
            return
        lock = self._write_lock
        held = False

        def escalate(conn: Any) -> None:
            nonlocal held
            await_only(lock.acquire())
            held = True
            cur = conn.connection.dbapi_connection.cursor()
            try:  # end the read snapshot; another writer may have committed since
                cur.execute("COMMIT")
                cur.execute("BEGIN IMMEDIATE")
            finally:
                cur.close()

        assert self._kept_batch is not None
        try:
            async with (
                self._kept_batch.connection() as conn,
                self._batch(bind=conn) as session,
                session.begin(),
            ):
                info = (await session.connection()).info  # the kept connection's
                info[ESCALATE] = escalate
                try:
                    yield session
                finally:
                    info.pop(ESCALATE, None)
        finally:
            if held:
                lock.release()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core write transaction (no ORM): the cheap path for hot bulk statements."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """PostgreSQL: a Core connection on which every statement is its own transaction —
        a one-statement write is one round trip (no BEGIN, no COMMIT) and is committed when
        the statement returns."""
        assert self._write_lock is None, "SQLite writes go through the write lock"
        async with self._autocommit_engine.connect() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def read_connection(self) -> AsyncIterator[AsyncConnection]:
        """A read-only Core transaction (no ORM session): the cheap path for hot queries (the
        delivery loop's; on SQLite its connection is kept between uses)."""
        if self._kept_read is None:
            async with self._read_engine.connect() as conn, conn.begin():
                yield conn
            return
        async with self._kept_read.connection() as conn, conn.begin():
            yield conn

    async def peek(self, stmt: Any, params: dict[str, Any] | None = None) -> Any:
        """The first column of ``stmt``'s first row, None when there is none: a look that
        mostly finds nothing ("anything to do?"), on the read path above. Built once at import
        and marked ``prepared``, ``stmt`` skips SQLAlchemy's statement path as well."""
        async with self.read_connection() as conn:
            return (await direct.run(conn, stmt, params)).scalar()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session (never commits)."""
        async with self._read() as session:
            yield session

    async def create_all(self) -> None:
        """Create every table directly (tests); production uses Alembic migrations."""
        from storage import metadata

        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            async with self.read() as s:
                await s.execute(_select_one())
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        for keeper in (self._kept_batch, self._kept_read):
            if keeper is not None:
                await keeper.close()
        if self._thread_writer is not None:
            writer, self._thread_writer = self._thread_writer, None
            await asyncio.to_thread(writer.close)
        await self.engine.dispose()
        if self._write_lock is not None:
            self._write_lock.close()


def _select_one() -> Any:
    from sqlalchemy import text

    return text("SELECT 1")
