"""Outbox delivery against a fake WeCom API on 127.0.0.1: pacing, retries, dead letters,
splitting, and survival across a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.runtime import Bot
from bot.web.app import create_app
from storage.models import OutboxMessage
from tests.fakes.clock import FakeClock
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness, make_config

AUTH = {"Authorization": "Bearer test-api-token"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def wecom(clock: FakeClock) -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom(clock) as fake:
        yield fake


def extra(fake: FakeWeCom) -> dict:
    return {
        "wecom": {"api_base": fake.url},
        "groups": [{"id": "wx1", "platform": "wecom", "name": "企微群", "webhook_key": "KEY1"}],
    }


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    wecom: FakeWeCom,
    clock: FakeClock,
) -> tuple[Harness, TestClient]:
    h = await make_harness(extra(wecom), clock=clock)
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def broadcast(client: TestClient, text: str) -> None:
    r = await client.post("/api/groups/wx1/messages", json={"text": text}, headers=AUTH)
    assert r.status == 202


async def statuses(h: Harness) -> list[str]:
    async with h.bot.db.read() as s:
        return list(
            (await s.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id))).all()
        )


async def test_25_broadcasts_never_more_than_20_a_minute(
    setup: tuple[Harness, TestClient], wecom: FakeWeCom
) -> None:
    h, client = setup
    for i in range(25):
        await broadcast(client, f"通知 {i}")
    await h.bot.drain()
    assert len(wecom.webhook_calls) == 20
    await h.advance(seconds=30)
    assert len(wecom.webhook_calls) == 20
    await h.advance(seconds=31)
    assert wecom.delivered("KEY1") == [f"通知 {i}" for i in range(25)]
    assert wecom.max_in_window("KEY1", 60) <= 20
    assert await statuses(h) == ["sent"] * 25


async def test_rate_limited_45009_is_waited_out(
    setup: tuple[Harness, TestClient], wecom: FakeWeCom
) -> None:
    h, client = setup
    wecom.errcode_for(600, 45009)  # ten minutes of "api freq out of limit"
    await broadcast(client, "福利日提醒")
    for _ in range(12):
        await h.advance(seconds=60)
    assert await statuses(h) == ["sent"]
    assert wecom.delivered().count("福利日提醒") >= 2  # refused ones, then the accepted one
    assert wecom.max_in_window("KEY1", 60) <= 20


async def test_5xx_retried_with_backoff_then_sent(
    setup: tuple[Harness, TestClient], wecom: FakeWeCom
) -> None:
    h, client = setup
    wecom.fail_next(3, 502)
    await broadcast(client, "重试我")
    await h.bot.drain()
    assert await statuses(h) == ["queued"]
    for _ in range(5):
        await h.advance(seconds=20)
    assert await statuses(h) == ["sent"]
    assert len(wecom.webhook_calls) == 4


async def test_robot_removed_is_dead_lettered_with_reason(
    setup: tuple[Harness, TestClient], wecom: FakeWeCom
) -> None:
    h, client = setup
    wecom.add_robot("SOME-OTHER-KEY")
    await broadcast(client, "发不出去")
    await h.bot.drain()
    out = await (await client.get("/api/outbox?status=dead", headers=AUTH)).json()
    assert len(out["messages"]) == 1
    assert "93000" in out["messages"][0]["last_error"]


async def test_long_text_split_without_breaking_characters(
    setup: tuple[Harness, TestClient], wecom: FakeWeCom
) -> None:
    h, client = setup
    text = "\n".join(f"第{i}条：本周会员福利日，全场满减，先到先得！" for i in range(120))
    await broadcast(client, text)
    await h.bot.drain()
    parts = wecom.delivered()
    assert len(parts) > 1 and "\n".join(parts) == text
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert set(await statuses(h)) == {"sent"}


async def test_queue_and_pacing_survive_restart(
    tmp_path: Path, wecom: FakeWeCom, clock: FakeClock
) -> None:
    cfg = make_config(tmp_path, extra(wecom))
    first = Bot(cfg, clock, workers=False, migrate=False, console_sink=lambda _l: None)
    await first.db.create_all()
    await first.start()
    from bot.outbox.queue import enqueue

    async with first.db.transaction() as s:
        for i in range(25):
            await enqueue(
                s,
                now=clock.now(),
                channel="wecom_robot",
                target="KEY1",
                action="text",
                payload={"text": f"m{i}", "group_id": "wx1"},
                group_id="wx1",
            )
    await first.drain()
    await first.stop()
    assert len(wecom.webhook_calls) == 20
    second = Bot(cfg, clock, workers=False, migrate=False, console_sink=lambda _l: None)
    await second.start()
    try:
        await second.drain()
        assert len(wecom.webhook_calls) == 20  # the window was restored from the database
        clock.advance(61)
        await second.drain()
        assert wecom.delivered("KEY1") == [f"m{i}" for i in range(25)]
    finally:
        await second.stop()


async def test_a_server_console_keeps_no_history() -> None:
    """`serve` prints console messages and keeps none (a long run must not grow with them)."""
    from bot.outbox.senders import ConsoleSender

    printed: list[str] = []
    row = OutboxMessage(
        action="text", target="console:g1", payload={"text": "hi", "group_id": "g1"}
    )
    quiet, keeping = ConsoleSender(printed.append, keep=False), ConsoleSender(printed.append)
    for sender in (quiet, keeping):
        await sender.send(row)
    assert printed == ["[g1] 🤖 hi", "[g1] 🤖 hi"]
    assert quiet.lines == [] and keeping.lines == ["[g1] 🤖 hi"]
