"""SQLite through the engine on the event loop (storage/sqlite_inline.py).

Rules pinned here: a writer that finds the database locked by another process waits without
blocking the event loop, and writes once the lock is free; past the busy timeout it fails as
SQLite would ("database is locked") and has changed nothing. Values round-trip as with
aiosqlite (dates, booleans, JSON), and a Core statement runs too (the engine checks that the
driver awaited).
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from bot.config import parse_config
from handlers import FEATURES
from storage.db import Database
from storage.models import InboxEvent
from storage.sqlite_inline import InlineDBAPI

WAIT_S = 15.0  # a bound on a wait, not a timing claim


async def _db(tmp_path: Path, timeout_ms: int | None = None) -> Database:
    parse_config({}, FEATURES, environ={})  # registers the feature tables
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    db = Database(url) if timeout_ms is None else Database(url, module=InlineDBAPI(timeout_ms))
    await db.create_all()
    return db


def _row(key: str) -> dict[str, object]:
    now = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
    return dict(
        dedup_key=key,
        platform="console",
        kind="message",
        group_id="g1",
        payload={"a": [1, "二"]},
        status="queued",
        attempts=0,
        next_attempt_at=now,
        last_error="",
        received_at=now,
    )


async def test_a_writer_waits_for_another_process_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    db = await _db(tmp_path)
    other = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def write() -> None:
        async with db.transaction() as s:
            await s.execute(InboxEvent.__table__.insert(), [_row("k1")])

    tick = asyncio.create_task(ticker())
    writing = asyncio.create_task(write())
    for _ in range(int(WAIT_S / 0.01)):
        if ticks >= 20:
            break
        await asyncio.sleep(0.01)
    assert ticks >= 20 and not writing.done()  # the loop ran on while the write waited
    other.execute("COMMIT")
    await asyncio.wait_for(writing, WAIT_S)
    tick.cancel()
    async with db.read() as s:
        got = (await s.execute(select(InboxEvent.payload, InboxEvent.received_at))).one()
    assert got == ({"a": [1, "二"]}, datetime(2026, 11, 18, 2, 0, tzinfo=UTC))
    other.close()
    await db.dispose()


async def test_past_the_busy_timeout_the_write_fails_and_changes_nothing(tmp_path: Path) -> None:
    db = await _db(tmp_path, timeout_ms=200)
    other = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError, match="locked"):
        async with db.transaction() as s:
            await s.execute(InboxEvent.__table__.insert(), [_row("k1")])
    other.execute("ROLLBACK")
    other.close()
    async with db.connection() as conn:  # a Core write (the engine's await check holds)
        await conn.execute(InboxEvent.__table__.insert(), [_row("k2")])
    async with db.read() as s:
        keys = (await s.scalars(select(InboxEvent.dedup_key))).all()
        assert (await s.execute(text("SELECT 1"))).scalar() == 1
    assert keys == ["k2"]
    await db.dispose()
