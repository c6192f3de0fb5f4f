"""Outcomes recorded at the same time on PostgreSQL go out together (bot/outbox/marks.py).

Rules checked:
- Outcomes recorded while a write is on its way are written in the next one, one statement per
  column set: fewer statements than outcomes, every row with its own values, and each
  ``record`` returns only once its outcome is committed.
- An outcome the database refuses is kept (``pending``) for the next ``flush``, while the others
  written with it stick.
On SQLite the writer thread writes each outcome (tests/reliability/test_mark_trouble.py).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.config import parse_config
from bot.outbox.marks import Marks
from handlers import FEATURES
from storage.db import Database
from storage.models import OutboxMessage
from tests import pgdb

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


async def _db(tmp_path: Path, n: int) -> Database:
    parse_config({}, FEATURES, environ={})
    db = Database(pgdb.database_url(tmp_path, "marks.db"))
    if db.dialect != "postgresql":
        await db.dispose()
        pytest.skip("PostgreSQL only (GROUPBOT_TEST_DB)")
    async with db.transaction() as s:
        for i in range(n):
            s.add(
                OutboxMessage(
                    channel="console",
                    target=f"t{i}",
                    action="text",
                    payload={"text": str(i)},
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
            )
    return db


async def _rows(db: Database) -> dict[int, tuple[str, int]]:
    async with db.read() as s:
        o = OutboxMessage
        got = await s.execute(select(o.id, o.status, o.attempts).order_by(o.id))
        return {i: (st, a) for i, st, a in got.all()}


async def test_outcomes_recorded_together_share_statements(tmp_path: Path) -> None:
    db = await _db(tmp_path, 24)
    seen: list[str] = []

    def count(_c: Any, _cur: Any, sql: str, *_a: Any) -> None:
        if sql.startswith("UPDATE outbox"):
            seen.append(sql)

    try:
        ids = list(await _rows(db))
        marks = Marks(db)
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        sent = [marks.record([i], status="sent", attempts=1, sent_at=NOW) for i in ids[:20]]
        held = [marks.record([i], next_attempt_at=NOW) for i in ids[20:]]
        await asyncio.gather(*sent, *held)
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        assert marks.pending == 0
        assert len(seen) < 24, seen  # (the first alone, then the rest by column set)
        rows = await _rows(db)
        assert [rows[i] for i in ids[:20]] == [("sent", 1)] * 20
        assert [rows[i] for i in ids[20:]] == [("queued", 0)] * 4
    finally:
        await db.dispose()


async def test_a_refused_outcome_is_kept_and_the_others_stick(tmp_path: Path) -> None:
    db = await _db(tmp_path, 6)
    try:
        ids = list(await _rows(db))
        marks = Marks(db)
        good = [marks.record([i], status="sent", attempts=1) for i in ids[:5]]
        bad = marks.record([ids[5]], status=None, attempts=1, last_error="x")  # NOT NULL
        await asyncio.gather(*good, bad)
        assert marks.pending == 1
        rows = await _rows(db)
        assert [rows[i] for i in ids] == [("sent", 1)] * 5 + [("queued", 0)]
        assert await marks.flush() is False  # still refused: kept, not dropped
        assert marks.pending == 1
    finally:
        await db.dispose()
