"""A message the platform accepted is not sent again because its "sent" mark could not be
written.

Rules checked (bot/outbox/worker.py, bot/health.py):
- While another connection holds SQLite's write lock, the outbox sends a due message once; the
  mark that fails is kept in memory and written again (not the send) until it sticks.
- Meanwhile no other row is taken for sending, and ``/healthz`` answers 503 with
  ``database_writable: false`` (promptly: reads still work).
- After the lock is released the row shows ``sent`` with ``attempts`` 1, the bridge saw the
  message once, and ``/healthz`` is 200 again.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.web.app import create_app
from storage.models import OutboxMessage
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

AUTH = {"Authorization": "Bearer test-api-token"}
GROUP = "50001"


@pytest.fixture
async def bridge() -> AsyncIterator[FakeOneBot]:
    fake = FakeOneBot()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def setup(
    tmp_path: Path,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> tuple[Harness, TestClient, Path]:
    db = tmp_path / "marks.db"
    h = await make_harness(
        {
            "storage": {"url": f"sqlite+aiosqlite:///{db}"},
            "onebot": {"secret": "marks-secret", "api_url": bridge.url},
            "groups": [{"id": GROUP, "platform": "onebot", "name": "标记群"}],
        }
    )
    return h, await aiohttp_client(create_app(h.bot, manage=False)), db


async def rows(h: Harness) -> list[tuple[str, int]]:
    async with h.bot.db.read() as s:
        q = select(OutboxMessage.status, OutboxMessage.attempts).order_by(OutboxMessage.id)
        return [(st, n) for st, n in (await s.execute(q)).all()]


async def test_failed_mark_is_retried_not_the_send(
    setup: tuple[Harness, TestClient, Path], bridge: FakeOneBot
) -> None:
    h, client, db = setup
    for text in ("第一条通知", "第二条通知"):
        r = await client.post(f"/api/groups/{GROUP}/messages", json={"text": text}, headers=AUTH)
        assert r.status == 202
    assert (await client.get("/healthz")).status == 200
    outbox = h.bot.outbox
    assert outbox is not None
    writer = h.bot.db.thread_writer()
    assert writer is not None
    # a failed write shows in 0.1 s instead of after SQLite's 5 s busy timeout; same mechanism
    writer._connect().execute("PRAGMA busy_timeout=100")
    holder = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        for _ in range(8):  # the outbox loop's turns while the lock is held
            with contextlib.suppress(Exception):
                await outbox.run_once()
        assert len(bridge.sent_texts(GROUP)) == 1  # sent once; nothing more taken
        health = await client.get("/healthz")
        assert health.status == 503
        assert (await health.json())["checks"]["database_writable"] is False
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await h.bot.drain()
    assert bridge.sent_texts(GROUP) == ["第一条通知", "第二条通知"]
    assert await rows(h) == [("sent", 1), ("sent", 1)]
    assert outbox.unwritten == 0
    assert (await client.get("/healthz")).status == 200
