"""Auto-replies on the WeCom 智能机器人 (only @-messages reach the bot): a keyword rule answers
in the callback's own encrypted reply; the model's answer, later, goes once to the message's
response_url."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from wechatpy.crypto import PrpCrypto

from bot.adapters import wecom_sign
from bot.adapters.wecom import WeComKeys
from bot.web.app import create_app
from handlers.autoreply import run_pending
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness

KEYS = WeComKeys("aibottoken", "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg", "")
RULE = {"keywords": ["优惠券"], "reply": "优惠券在小程序领取"}


async def start(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    fake: FakeWeCom,
    wait_s: float,
    autoreply: dict[str, Any],
) -> tuple[Harness, TestClient]:
    aibot = {"token": KEYS.token, "encoding_aes_key": KEYS.encoding_aes_key}
    h = await make_harness(
        {
            "wecom": {"api_base": fake.url, "aibot": {**aibot, "passive_wait_s": wait_s}},
            "groups": [{"id": "wrGroup", "platform": "wecom"}],
            "autoreply": autoreply,
        }
    )
    h.bot.workers = True  # the callback waits for the dispatcher, which the test runs
    return h, await aiohttp_client(create_app(h.bot, manage=False))


@contextlib.asynccontextmanager
async def dispatching(h: Harness) -> AsyncIterator[None]:
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


async def post(client: TestClient, inner: dict[str, Any], nonce: str) -> tuple[int, bytes]:
    q, body = wecom_sign.sign_post_aibot(KEYS, inner, int(time.time()), nonce)
    r = await client.post("/wecom/aibot", params=q, data=body)
    return r.status, await r.read()


def passive_text(raw: bytes) -> str:
    key = base64.b64decode(KEYS.encoding_aes_key + "=")
    reply = json.loads(PrpCrypto(key).decrypt(json.loads(raw)["encrypt"], ""))
    return str(reply["stream"]["content"])


async def test_a_rule_answers_in_the_callback(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    async with FakeWeCom() as fake:
        h, client = await start(make_harness, aiohttp_client, fake, 3.0, {"rules": [RULE]})
        url = f"{fake.url}/cgi-bin/aibot/response?response_code=c1"
        inner = wecom_sign.aibot_text("wrGroup", "lisi", "@群助手 优惠券在哪领？", "m-1", url)
        async with dispatching(h):
            status, raw = await post(client, inner, "n-1")
        assert status == 200 and passive_text(raw) == "优惠券在小程序领取"
        await h.advance(seconds=10)
        assert fake.responses == []


async def test_the_models_answer_goes_to_the_response_url(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    async with FakeWeCom() as fake, FakeChatModel("积分可兑换礼品") as model:
        ai = {"enabled": True, "base_url": model.base_url, "model": "m"}
        h, client = await start(make_harness, aiohttp_client, fake, 0.0, {"ai": ai})
        url = f"{fake.url}/cgi-bin/aibot/response?response_code=c2"
        inner = wecom_sign.aibot_text("wrGroup", "lisi", "@群助手 积分有什么用", "m-2", url)
        status, raw = await post(client, inner, "n-2")
        assert status == 200 and raw == b""  # nothing ready in the callback
        await h.bot.drain()
        assert await run_pending(h.bot) == 1
        await h.bot.drain()  # the answer event: its reply is held for the passive window
        assert fake.responses == []
        await h.advance(seconds=5)  # past the passive window the answer was held for
        assert [(code, body["markdown"]["content"]) for code, body in fake.responses] == [
            ("c2", "积分可兑换礼品")
        ]
        assert model.questions() == ["积分有什么用"]
