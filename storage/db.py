"""Engine and unit of work.

SQLite rules (DESIGN.md): WAL, ``synchronous=NORMAL``, ``busy_timeout``, foreign keys on, and
``BEGIN IMMEDIATE`` for every writing transaction — a deferred transaction that later wants to
write fails with "database is locked" under concurrent load. Read-only sessions use a plain
``BEGIN`` so they never block the writer (WAL readers see the last commit).

PostgreSQL (asyncpg): the driver's own ``BEGIN`` (READ COMMITTED) and no in-process write queue
— concurrent writers, and other instances, are kept apart by row locks and unique constraints.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

BUSY_TIMEOUT_MS = 5000


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine with the SQLite pragmas and transaction mode set."""
    if url.startswith("postgresql"):
        # an instance runs the inbox writer, a dispatcher and one delivery per target at once
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    return engine


def _sqlite_setup(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # take transaction control away from the driver; we emit BEGIN ourselves
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get("readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class Database:
    """Owns the engine; hands out write units of work and read-only sessions."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **kwargs)
        self.dialect = self.engine.dialect.name
        self._write = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read = async_sessionmaker(
            self.engine.execution_options(readonly=True), expire_on_commit=False
        )
        # SQLite has one writer; queueing our own writers here keeps them out of SQLite's busy
        # handler, which sleeps up to 100 ms per retry and would dominate ack latency.
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any error."""
        if self._write_lock is None:
            async with self._write() as session, session.begin():
                yield session
            return
        async with self._write_lock, self._write() as session, session.begin():
            yield session

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
        await self.engine.dispose()


def _select_one() -> Any:
    from sqlalchemy import text

    return text("SELECT 1")
