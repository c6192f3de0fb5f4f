"""What /healthz checks beyond "the database answers": that it also takes writes.

Rules:
- The database is writable when this process holds no outcome the database refused (the
  outbox keeps those in memory until they stick) and a write lock can be taken within
  ``WRITE_PROBE_S`` — SQLite: ``BEGIN IMMEDIATE`` then ``ROLLBACK`` on a connection of its
  own (nothing is written); PostgreSQL: the server is not read-only.
- A foreign process holding the write lock longer than the bound, a read-only file or a
  read-only server makes the answer 503: acknowledgements and delivery marks would fail too.
- Events flow when no stored event has been due for longer than ``[server] stall_after_s``
  (checked where events are handled here or by split_worker's worker process): a stopped,
  hung or starved handler shows as 503 although its process is alive.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text

from storage.models import InboxEvent

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


async def oldest_due_s(bot: Bot) -> float:
    """Seconds the oldest due, unprocessed event has been waiting (0 when none waits)."""
    now = bot.clock.now()
    async with bot.db.read() as s:
        due = await s.scalar(
            select(func.min(InboxEvent.next_attempt_at)).where(
                InboxEvent.status == "queued", InboxEvent.next_attempt_at <= now
            )
        )
    if due is None:
        return 0.0
    if due.tzinfo is None:  # SQLite hands back naive UTC
        due = due.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - due).total_seconds())


async def events_flowing(bot: Bot) -> bool:
    """False once an event has waited past ``stall_after_s`` (see the module rules)."""
    try:
        waited = await oldest_due_s(bot)
    except Exception:
        return False
    bound: float = bot.config.server.stall_after_s
    return waited <= bound
