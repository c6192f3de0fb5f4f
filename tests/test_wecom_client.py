"""The WeCom API client against the local fake: one token for all callers, refreshed once when it
expires (by time or by WeCom's 42001), and a clear cause for 60020."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.web.app import create_app
from bot.wecom_api import WeComClient, WeComError, client_for
from tests.fakes.clock import FakeClock
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness

GET = "externalcontact/groupchat/get"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as f:
        f.customer.add_chat("wrA")
        yield f


@pytest.fixture
async def client(fake: FakeWeCom) -> AsyncIterator[tuple[WeComClient, FakeClock]]:
    clock = FakeClock()
    async with aiohttp.ClientSession() as http:
        yield WeComClient(http, clock, fake.url, "wwcorp", "corp-secret", 1000), clock


async def test_token_is_fetched_once_and_reused(
    fake: FakeWeCom, client: tuple[WeComClient, FakeClock]
) -> None:
    c, _ = client
    for _ in range(3):
        data = await c.call(GET, {"chat_id": "wrA"})
        assert data["group_chat"]["chat_id"] == "wrA"
    assert fake.tokens_issued == 1


async def test_concurrent_callers_share_one_refresh(
    fake: FakeWeCom, client: tuple[WeComClient, FakeClock]
) -> None:
    c, _ = client
    fake.customer.token_delay_s = 0.2
    await asyncio.gather(*(c.call(GET, {"chat_id": "wrA"}) for _ in range(20)))
    assert fake.tokens_issued == 1
    fake.expire_tokens()  # WeCom now answers 42001 to the cached token
    await asyncio.gather(*(c.call(GET, {"chat_id": "wrA"}) for _ in range(20)))
    assert fake.tokens_issued == 2, "an expiry mid-run is refreshed once, not by every caller"


async def test_refreshed_before_expiry(
    fake: FakeWeCom, client: tuple[WeComClient, FakeClock]
) -> None:
    c, clock = client
    await c.call(GET, {"chat_id": "wrA"})
    clock.advance(timedelta(seconds=7200 - 400))
    await c.call(GET, {"chat_id": "wrA"})
    assert fake.tokens_issued == 1
    clock.advance(timedelta(seconds=200))  # inside the 300 s margin: refreshed early
    await c.call(GET, {"chat_id": "wrA"})
    assert fake.tokens_issued == 2
    assert not fake.customer.errcodes.get("groupchat/get")


async def test_a_second_token_error_is_not_retried_forever(
    fake: FakeWeCom, client: tuple[WeComClient, FakeClock]
) -> None:
    c, _ = client
    fake.customer.errcodes["groupchat/get"] = [40014, 40014, 40014]
    with pytest.raises(WeComError) as err:
        await c.call(GET, {"chat_id": "wrA"})
    assert err.value.errcode == 40014
    assert fake.customer.count("groupchat/get") == 2  # the call and one retry
    assert fake.customer.errcodes["groupchat/get"] == [40014]


async def test_errors_are_classified(
    fake: FakeWeCom, client: tuple[WeComClient, FakeClock]
) -> None:
    c, _ = client
    with pytest.raises(WeComError) as err:
        await c.call(GET, {"chat_id": "nope"})
    assert err.value.errcode == 90501 and not err.value.retryable
    fake.customer.errcodes["groupchat/get"] = [-1]
    with pytest.raises(WeComError) as err:
        await c.call(GET, {"chat_id": "wrA"})
    assert err.value.retryable


async def test_untrusted_ip_is_named_in_healthz(
    fake: FakeWeCom,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await make_harness(
        {"wecom": {"api_base": fake.url, "corp_id": "wwcorp", "secret": "corp-secret"}}
    )
    http = await aiohttp_client(create_app(h.bot, manage=False))
    fake.customer.ip_untrusted = True
    c = client_for(h.bot)
    assert c is not None
    from handlers.wecom_sync import worker

    worker.client(h.bot)  # registers the health detail
    with pytest.raises(WeComError) as err:
        await c.call(GET, {"chat_id": "wrA"})
    assert err.value.errcode == 60020
    body = await (await http.get("/healthz")).json()
    assert "60020" in body["details"]["wecom"] and "trusted IP" in body["details"]["wecom"]
    fake.customer.ip_untrusted = False
    await c.call(GET, {"chat_id": "wrA"})
    body = await (await http.get("/healthz")).json()
    assert body["details"]["wecom"] == "ok"
