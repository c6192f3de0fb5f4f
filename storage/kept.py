"""Connections kept between uses by the two hot loops (SQLite).

Every dispatcher batch and every delivery round took a connection from SQLAlchemy's pool and
gave it back: the checkout and the check-in (pool events, the reset on return, new connection
objects) cost 0.25–0.45 ms of CPU each on the cold caches of everyday load, where a batch holds
four or five events — a twentieth of an event's cost. Each loop now keeps its connection.

Rules:
- SQLite only: its connections are open files that the pool keeps open all along anyway.
  PostgreSQL keeps the pool, whose checkout also replaces a connection the server dropped.
- A connection goes back to the keeper only after a use that ended cleanly and outside a
  transaction; after an error or a cancellation it is closed, and the next use opens a new one.
- At most ``keep`` idle connections per keeper (two uses at once — tests draining while the
  loops run — each get their own); ``close()`` (``Database.dispose``) closes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class Keeper:
    def __init__(self, engine: AsyncEngine, keep: int = 1) -> None:
        self.engine = engine
        self.keep = keep
        self._idle: list[AsyncConnection] = []
        self._closed = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection outside any transaction, for one use."""
        conn = self._idle.pop() if self._idle else await self.engine.connect()
        try:
            yield conn
        except BaseException:
            await conn.close()  # (its state is unknown: not kept)
            raise
        if self._closed or conn.in_transaction() or len(self._idle) >= self.keep:
            await conn.close()
        else:
            self._idle.append(conn)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()
