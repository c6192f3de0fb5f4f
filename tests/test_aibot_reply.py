"""智能机器人 answers: in the callback's own encrypted response when ready in time, otherwise
once through the message's response_url — never both."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from wechatpy.crypto import PrpCrypto

from bot import loops
from bot.adapters import wecom_sign
from bot.adapters.wecom import WeComKeys, signature
from bot.web.app import create_app
from storage.models import OutboxMessage
from tests.fakes.server import FakeServer
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness

AIBOT = WeComKeys("aibottoken", "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg", "")


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as f:
        yield f


async def start(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    wait_s: float,
    api_base: str = "https://qyapi.weixin.qq.com",
) -> tuple[Harness, TestClient]:
    aibot = {"token": AIBOT.token, "encoding_aes_key": AIBOT.encoding_aes_key}
    wecom = {"api_base": api_base, "aibot": {**aibot, "passive_wait_s": wait_s}}
    groups = [{"id": "wrGroup", "platform": "wecom"}]  # groups not in the config are ignored
    h = await make_harness({"wecom": wecom, "groups": groups})
    h.bot.workers = True  # the callback may wait for the dispatcher, which the test runs
    return h, await aiohttp_client(create_app(h.bot, manage=False))


@contextlib.asynccontextmanager
async def dispatching(h: Harness) -> AsyncIterator[None]:
    """Run the dispatcher in the background, as ``serve`` does."""

    async def loop() -> None:
        while True:
            await h.bot.dispatcher.run_once()
            await asyncio.sleep(0.01)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def decrypt_reply(body: dict[str, Any], nonce: str) -> dict[str, Any]:
    assert body["nonce"] == nonce
    want = signature(AIBOT.token, str(body["timestamp"]), nonce, body["encrypt"])
    assert body["msgsignature"] == want
    key = base64.b64decode(AIBOT.encoding_aes_key + "=")
    plain = PrpCrypto(key).decrypt(body["encrypt"], "")
    return json.loads(plain)


async def post(
    client: TestClient, inner: dict[str, Any], nonce: str, times: int = 1
) -> tuple[int, bytes]:
    """Post one signed callback ``times`` times (a redelivery is the very same request)."""
    q, body = wecom_sign.sign_post_aibot(AIBOT, inner, int(time.time()), nonce)
    for _ in range(times):
        r = await client.post("/wecom/aibot", params=q, data=body)
    return r.status, await r.read()


async def aibot_rows(h: Harness) -> list[OutboxMessage]:
    async with h.bot.db.read() as s:
        q = select(OutboxMessage).where(OutboxMessage.channel == "aibot")
        return list((await s.scalars(q)).all())


async def test_group_mention_gets_a_passive_stream_reply(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    fake: FakeWeCom,
) -> None:
    h, client = await start(make_harness, aiohttp_client, 3.0)
    url = f"{fake.url}/cgi-bin/aibot/response?response_code=c1"
    inner = wecom_sign.aibot_text("wrGroup", "lisi", "@群助手 /帮助", "m-1", url)
    async with dispatching(h):
        status, raw = await post(client, inner, "nonce-1")
    assert status == 200
    reply = decrypt_reply(json.loads(raw), "nonce-1")
    assert reply["msgtype"] == "stream" and reply["stream"]["finish"] is True
    assert "可用指令" in reply["stream"]["content"]
    rows = await aibot_rows(h)
    assert [(r.status, r.last_error) for r in rows] == [("sent", "passive reply")]
    await h.advance(seconds=10)
    assert fake.responses == [], "answered in the callback: the response_url stays unused"


async def test_the_dispatcher_does_not_linger_over_an_awaited_answer(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    """The serve loop lingers after a quiet spell ([bot] dispatch_linger_ms, 1 s here, longer
    than the 0.8 s passive window); a callback that waits for its answer ends the linger, so
    the answer is in its response."""
    aibot = {"token": AIBOT.token, "encoding_aes_key": AIBOT.encoding_aes_key}
    h = await make_harness(
        {
            "wecom": {"aibot": {**aibot, "passive_wait_s": 0.8}},
            "groups": [{"id": "wrGroup", "platform": "wecom"}],
            "bot": {"dispatch_linger_ms": 1000},
        }
    )
    h.bot.workers = True
    client = await aiohttp_client(create_app(h.bot, manage=False))
    loop = asyncio.create_task(loops.dispatch_loop(h.bot))  # the real loop, its linger included
    try:
        inner = wecom_sign.aibot_text(
            "wrGroup",
            "lisi",
            "@群助手 /帮助",
            "m-9",
            "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=c9",
        )
        status, raw = await post(client, inner, "nonce-9")
    finally:
        h.bot._stopping = True
        h.bot._dispatch_wake.set()
        h.bot._gathered.set()
        await asyncio.wait_for(loop, 5)
    assert status == 200 and raw, "answered within the passive window"
    reply = decrypt_reply(json.loads(raw), "nonce-9")
    assert "可用指令" in reply["stream"]["content"]


async def test_late_answer_goes_once_to_the_response_url(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    fake: FakeWeCom,
) -> None:
    h, client = await start(make_harness, aiohttp_client, 0.0, fake.url)
    url = f"{fake.url}/cgi-bin/aibot/response?response_code=c2"
    inner = wecom_sign.aibot_text("wrGroup", "lisi", "@群助手 /帮助", "m-2", url)
    status, raw = await post(client, inner, "nonce-2", times=2)  # WeCom redelivers
    assert status == 200 and raw == b""
    await h.bot.drain()
    assert fake.responses == []  # held back for the passive window first
    await h.advance(seconds=5)
    assert len(fake.responses) == 1
    code, body = fake.responses[0]
    assert code == "c2" and "可用指令" in body["markdown"]["content"]
    await h.advance(seconds=60)
    assert len(fake.responses) == 1, "one answer however often the callback came"


async def test_enter_chat_is_greeted_with_text(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h, client = await start(make_harness, aiohttp_client, 3.0)
    async with dispatching(h):
        status, raw = await post(client, wecom_sign.aibot_enter_chat("zhangsan"), "nonce-3")
    assert status == 200
    reply = decrypt_reply(json.loads(raw), "nonce-3")
    assert reply["msgtype"] == "text" and "/帮助" in reply["text"]["content"]


async def test_single_chat_command_without_mention(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h, client = await start(make_harness, aiohttp_client, 3.0)
    inner = wecom_sign.aibot_text(None, "lisi", "/帮助", "m-4")
    async with dispatching(h):
        status, raw = await post(client, inner, "nonce-4")
    reply = decrypt_reply(json.loads(raw), "nonce-4")
    assert status == 200 and "可用指令" in reply["stream"]["content"]


async def test_used_or_expired_response_url_falls_back_to_the_robot(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    fake: FakeWeCom,
) -> None:
    aibot = {"token": AIBOT.token, "encoding_aes_key": AIBOT.encoding_aes_key}
    h = await make_harness(
        {
            "wecom": {"api_base": fake.url, "aibot": {**aibot, "passive_wait_s": 0}},
            "groups": [{"id": "wrGroup", "platform": "wecom", "webhook_key": "KEY1"}],
        }
    )
    client = await aiohttp_client(create_app(h.bot, manage=False))
    url = f"{fake.url}/cgi-bin/aibot/response?response_code=same"
    for i, nonce in ((1, "n-a"), (2, "n-b")):  # the second answer finds the URL used
        await post(
            client, wecom_sign.aibot_text("wrGroup", "lisi", "@群助手 /帮助", f"u{i}", url), nonce
        )
    await h.bot.drain()
    await h.advance(seconds=5)
    assert len(fake.responses) == 1
    assert [k for k, _b, _t in fake.webhook_calls] == ["KEY1"]
    inner = wecom_sign.aibot_text("wrGroup", "lisi", "@群助手 /帮助", "u3", url + "x")
    await post(client, inner, "n-c")
    await h.bot.dispatcher.run_once()
    await h.advance(hours=2)  # the outbox was down for two hours: the URL is dead by now
    assert len(fake.responses) == 1 and len(fake.webhook_calls) == 2
    rows = await aibot_rows(h)
    assert [r.status for r in rows] == ["sent", "sent", "sent"]


async def test_a_row_claimed_by_an_outbox_worker_is_not_taken(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    """On PostgreSQL an outbox claim moves ``next_attempt_at`` ahead while the row stays
    queued; the passive reply must leave such a row to the worker that holds it."""
    from datetime import timedelta

    from sqlalchemy import update

    from bot.web.aibot_reply import claim

    h, client = await start(make_harness, aiohttp_client, 0.0)
    h.bot.workers = False  # no waiting: answer later
    inner = wecom_sign.aibot_text("wrGroup", "lisi", "@群助手 /帮助", "m-9")
    await post(client, inner, "nonce-9")
    await h.bot.dispatcher.run_once()
    (row,) = await aibot_rows(h)
    async with h.bot.db.transaction() as s:
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)
            .values(next_attempt_at=h.clock.now() + timedelta(seconds=30))
        )
    assert await claim(h.bot, row.event_id) == []
    async with h.bot.db.transaction() as s:  # back in its own hold-back: taken
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)
            .values(next_attempt_at=row.next_attempt_at)
        )
    assert len(await claim(h.bot, row.event_id)) == 1


class Internal(FakeServer):
    """A service on the bot's own host that must never be called (an admin endpoint)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append(request.path)
        return web.json_response({"errcode": 0, "errmsg": "ok"})


async def test_response_url_off_wecoms_host_is_never_called(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    fake: FakeWeCom,
) -> None:
    """The signed payload names the URL; only WeCom's host (here: ``api_base``) is called."""
    aibot = {"token": AIBOT.token, "encoding_aes_key": AIBOT.encoding_aes_key}
    h = await make_harness(
        {
            "wecom": {"api_base": fake.url, "aibot": {**aibot, "passive_wait_s": 0}},
            "groups": [{"id": "wrGroup", "platform": "wecom", "webhook_key": "KEY1"}],
        }
    )
    client = await aiohttp_client(create_app(h.bot, manage=False))
    async with Internal() as internal:
        evil = [
            f"{internal.url}/internal/admin",
            f"http://127.0.0.1:{internal.port}@{fake.url[7:]}/x",  # host is the fake, port not
            f"https://qyapi.weixin.qq.com@127.0.0.1:{internal.port}/internal/admin",
        ]
        for i, url in enumerate(evil):
            inner = wecom_sign.aibot_text("wrGroup", "lisi", "@群助手 /帮助", f"s{i}", url)
            await post(client, inner, f"n-s{i}")
        private = wecom_sign.aibot_text(None, "lisi", "/帮助", "s-private", evil[0])
        await post(client, private, "n-sp")
        await h.bot.drain()
        await h.advance(seconds=60)
        assert internal.calls == []
    assert fake.responses == []
    # group answers go through the group's robot; the private one has no fallback: dead
    assert [k for k, _b, _t in fake.webhook_calls] == ["KEY1"] * 3
    rows = await aibot_rows(h)
    assert sorted(r.status for r in rows) == ["dead", "sent", "sent", "sent"]
    assert {r.last_error for r in rows if r.status == "dead"} == {
        "response_url is not on WeCom's host"
    }
