"""A broadcast keeps the outbox's pacing: groups sharing one WeCom robot key get at most
``robot_rate_per_minute`` posts a minute (fake WeCom API on 127.0.0.1), and the report says
``queued`` for those still waiting their turn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from bot.web.app import create_app
from tests.fakes.clock import FakeClock
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness

AUTH = {"Authorization": "Bearer test-api-token"}
GROUPS = [
    {"id": f"wx{i:02}", "platform": "wecom", "name": f"企微群{i}", "webhook_key": "KEY1"}
    for i in range(25)
]


@pytest.fixture
async def wecom() -> AsyncIterator[tuple[FakeWeCom, FakeClock]]:
    clock = FakeClock()
    async with FakeWeCom(clock) as fake:
        yield fake, clock


async def test_one_robot_key_gets_at_most_20_a_minute(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    wecom: tuple[FakeWeCom, FakeClock],
) -> None:
    fake, clock = wecom
    h = await make_harness({"wecom": {"api_base": fake.url}, "groups": GROUPS}, clock=clock)
    client = await aiohttp_client(create_app(h.bot, manage=False))
    body = {"targets": ["all"], "text": "{group} 福利日"}
    r = await client.post("/api/broadcasts", json=body, headers=AUTH)
    assert r.status == 201
    bid = (await r.json())["id"]
    await h.bot.drain()
    assert len(fake.delivered("KEY1")) == 20
    rep = await (await client.get(f"/api/broadcasts/{bid}", headers=AUTH)).json()
    assert rep["counts"]["sent"] == 20 and rep["counts"]["queued"] == 5
    assert rep["status"] == "sending"
    await h.advance(seconds=61)
    rep = await (await client.get(f"/api/broadcasts/{bid}", headers=AUTH)).json()
    assert rep["counts"]["sent"] == 25 and rep["status"] == "done"
    assert sorted(fake.delivered("KEY1")) == sorted(f"企微群{i} 福利日" for i in range(25))
    assert fake.max_in_window("KEY1") <= 20
