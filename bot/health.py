"""What /healthz checks beyond "the database answers": that it also takes writes.

Rules:
- The database is writable when this process holds no outcome the database refused (the
  outbox keeps those in memory until they stick) and a write lock can be taken within
  ``WRITE_PROBE_S`` — SQLite: ``BEGIN IMMEDIATE`` then ``ROLLBACK`` on a connection of its
  own (nothing is written); PostgreSQL: the server is not read-only.
- A foreign process holding the write lock longer than the bound, a read-only file or a
  read-only server makes the answer 503: acknowledgements and delivery marks would fail too.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from bot.runtime import Bot

WRITE_PROBE_S = 1.0


def _sqlite_probe(path: str, timeout: float) -> None:
    con = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
    finally:
        con.close()


async def database_writable(bot: Bot) -> bool:
    """True when writes would go through now (see the module rules)."""
    if bot.outbox is not None and bot.outbox.unwritten:
        return False
    db = bot.db
    try:
        if db.dialect == "sqlite":
            if not db.sqlite_path:
                return True  # in memory: nothing else can hold it
            probe = asyncio.to_thread(_sqlite_probe, db.sqlite_path, WRITE_PROBE_S)
            await asyncio.wait_for(probe, WRITE_PROBE_S + 1)
            return True
        async with db.read() as s:
            ro: str | None = await s.scalar(text("SELECT current_setting('transaction_read_only')"))
        return ro == "off"
    except Exception:
        return False
