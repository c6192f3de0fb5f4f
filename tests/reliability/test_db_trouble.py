"""Database trouble: a locked or slow SQLite never gets an event acknowledged that is not stored.

Rules checked (bot/web/ingest.py, bot/inbox.py):
- While another connection holds ``BEGIN EXCLUSIVE`` on the SQLite file, or a long write
  transaction of our own holds the writer, ``POST /onebot`` and ``POST /wecom/callback`` answer
  503 within a bound (``ingest.ACK_TIMEOUT_S``, below WeCom's 5 s) instead of 2xx — and at
  that moment the event is not in the inbox.
- After the lock is released, the platform's redelivery is acknowledged and the event is
  stored exactly once (a write that landed after the 503 is found by its key), and processed
  once.
- Reads (``/healthz``) keep answering while writes are blocked; it reports 503 with
  ``database_writable: false`` until the lock is released.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.adapters import wecom_sign
from bot.adapters.onebot import sign
from bot.adapters.wecom import WeComKeys
from bot.web import ingest
from bot.web.app import create_app
from tests.harness import Harness
from tests.reliability.serve import group_message

SECRET = "db-trouble-secret"
AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP = WeComKeys("apptoken", AES, "wwcorp")
BOUND_S = 5.0  # WeCom gives up after 5 s


@pytest.fixture
async def setup(
    tmp_path: Path,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Harness, TestClient, Path]:
    monkeypatch.setattr(ingest, "ACK_TIMEOUT_S", 1.0)  # keeps the suite fast; same mechanism
    db = tmp_path / "trouble.db"
    h = await make_harness(
        {
            "storage": {"url": f"sqlite+aiosqlite:///{db}"},
            "onebot": {"secret": SECRET},
            "wecom": {"corp_id": "wwcorp", "token": APP.token, "encoding_aes_key": AES},
            "groups": [{"id": "30001", "platform": "console", "name": "库群"}],
        }
    )
    return h, await aiohttp_client(create_app(h.bot, manage=False)), db


def inbox_count(con: sqlite3.Connection) -> int:
    return int(con.execute("select count(*) from inbox where platform != 'internal'").fetchone()[0])


async def post_onebot(client: TestClient, body: bytes) -> tuple[int, float]:
    started = time.monotonic()
    headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
    r = await client.post("/onebot", data=body, headers=headers)
    return r.status, time.monotonic() - started


async def post_wecom(client: TestClient, q: dict[str, str], body: bytes) -> tuple[int, float]:
    started = time.monotonic()
    r = await client.post("/wecom/callback", params=q, data=body)
    return r.status, time.monotonic() - started


def test_the_default_bound_is_below_wecoms_timeout() -> None:
    assert 0 < ingest.ACK_TIMEOUT_S < BOUND_S


async def test_exclusive_lock_gives_503_then_redelivery_is_stored_once(
    setup: tuple[Harness, TestClient, Path],
) -> None:
    h, client, db = setup
    body = group_message(30001, 7, 1, "/帮助")
    q, xml = wecom_sign.sign_post_xml(
        APP, wecom_sign.text_xml("wwcorp", "zhangsan", "hi", 42), int(time.time()), "lock-1"
    )
    holder = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        status, took = await post_onebot(client, body)
        assert status == 503 and took < BOUND_S
        status, took = await post_wecom(client, q, xml)
        assert status == 503 and took < BOUND_S
        assert inbox_count(holder) == 0  # nothing acknowledged, nothing stored
        started = time.monotonic()
        health = await client.get("/healthz")  # answered promptly: readers are not blocked
        assert time.monotonic() - started < BOUND_S
        assert health.status == 503  # ...but the database takes no writes now
        checks = (await health.json())["checks"]
        assert checks["database"] is True and checks["database_writable"] is False
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # the bridge and WeCom redeliver the very same requests
    assert (await post_onebot(client, body))[0] == 204
    assert (await post_wecom(client, q, xml))[0] == 200
    assert (await post_onebot(client, body))[0] == 204
    with sqlite3.connect(db) as con:
        assert inbox_count(con) == 2
    said = await h.advance(seconds=1)
    assert len([line for line in said if "可用指令" in line]) == 1
    assert (await client.get("/healthz")).status == 200


async def test_slow_writer_gives_503_then_redelivery_is_stored_once(
    setup: tuple[Harness, TestClient, Path],
) -> None:
    h, client, db = setup
    body = group_message(30001, 8, 2, "/帮助")
    q, xml = wecom_sign.sign_post_xml(
        APP, wecom_sign.text_xml("wwcorp", "lisi", "hi", 43), int(time.time()), "slow-1"
    )
    # a long write transaction of our own (a slow handler, a slow disk) holds the writer
    async with h.bot.db.transaction():
        status, took = await post_onebot(client, body)
        assert status == 503 and took < BOUND_S
        status, took = await post_wecom(client, q, xml)
        assert status == 503 and took < BOUND_S
        with sqlite3.connect(db) as con:
            assert inbox_count(con) == 0
    # the writes that were queued behind the lock may land now; redelivery finds them
    assert (await post_onebot(client, body))[0] == 204
    assert (await post_wecom(client, q, xml))[0] == 200
    with sqlite3.connect(db) as con:
        assert inbox_count(con) == 2
    said = await h.advance(seconds=1)
    assert len([line for line in said if "可用指令" in line]) == 1
