"""The wall clock steps (NTP, an operator) while the outbox waits: backoffs and the robot
window run on the monotonic clock, and a restart does not keep a deadline from before a step.
Against a fake WeCom API on 127.0.0.1 with the fake clock (wall and monotonic apart)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.outbox.queue import enqueue
from bot.runtime import Bot
from bot.web.app import create_app
from storage.models import OutboxMessage
from tests.fakes.clock import FakeClock
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness, make_config

AUTH = {"Authorization": "Bearer test-api-token"}
HOUR = 3600.0


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


async def statuses(db_bot: Bot) -> list[str]:
    async with db_bot.db.read() as s:
        return list(
            (await s.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id))).all()
        )


async def test_backoff_ends_in_monotonic_time_after_a_backward_step(
    setup: tuple[Harness, TestClient], wecom: FakeWeCom, clock: FakeClock
) -> None:
    h, client = setup
    wecom.fail_next(1, 502)
    await broadcast(client, "第一条")
    await h.bot.drain()
    await broadcast(client, "第二条")  # held back behind the first (order per group)
    await h.bot.drain()
    assert await statuses(h.bot) == ["queued", "queued"]
    clock.step_wall(-HOUR)  # the wall clock steps back one hour; monotonic time does not
    await h.advance(seconds=5)  # past the first backoff (2 s) in monotonic time
    assert await statuses(h.bot) == ["sent", "sent"]
    assert wecom.delivered("KEY1")[-2:] == ["第一条", "第二条"]


FORWARD = pytest.param(
    HOUR,
    marks=pytest.mark.skipif(
        bool(os.environ.get("GROUPBOT_TEST_DB")),
        reason="instances share the window in wall time: a forward step may free a key early "
        "once (WeCom's 45009 is then waited out); see docs/reliability.md",
    ),
)


@pytest.mark.parametrize("step", [-HOUR, FORWARD])
async def test_full_robot_window_frees_60_monotonic_seconds_later(
    setup: tuple[Harness, TestClient], wecom: FakeWeCom, clock: FakeClock, step: float
) -> None:
    h, client = setup
    for i in range(21):
        await broadcast(client, f"通知 {i}")
    await h.bot.drain()
    assert len(wecom.webhook_calls) == 20
    clock.step_wall(step)
    await h.bot.drain()
    await h.advance(seconds=30)
    assert len(wecom.webhook_calls) == 20  # a step forward frees no slot either
    await h.advance(seconds=31)
    assert wecom.delivered("KEY1") == [f"通知 {i}" for i in range(21)]
    assert await statuses(h.bot) == ["sent"] * 21


async def test_restart_after_a_backward_step_keeps_no_far_future_deadline(
    tmp_path: Path, wecom: FakeWeCom, clock: FakeClock
) -> None:
    cfg = make_config(tmp_path, extra(wecom))
    first = Bot(cfg, clock, workers=False, migrate=False, console_sink=lambda _l: None)
    await first.db.create_all()
    await first.start()
    wecom.fail_next(1, 502)
    async with first.db.transaction() as s:
        await enqueue(
            s,
            now=clock.now(),
            channel="wecom_robot",
            target="KEY1",
            action="text",
            payload={"text": "重启后", "group_id": "wx1"},
            group_id="wx1",
        )
    await first.drain()
    await first.stop()
    assert await statuses(first) == ["queued"]  # in backoff when the process stopped
    clock.step_wall(-HOUR)  # stepped back while it was down
    second = Bot(cfg, clock, workers=False, migrate=False, console_sink=lambda _l: None)
    await second.start()
    try:
        await second.drain()
        assert await statuses(second) == ["sent"]
        assert wecom.delivered("KEY1")[-1] == "重启后"
    finally:
        await second.stop()
