"""A lone UTF-16 surrogate in a member's text is data, not a poison.

Rules checked (bot/adapters/base.py ``clean_text``, the adapters, bot/chat.py): JSON's
``"\\ud800"`` escape (OneBot, 智能机器人) and a terminal's undecodable bytes (``groupbot chat``)
produce a lone surrogate that cannot be encoded as UTF-8; it becomes U+FFFD where the text
enters, so the event is processed once and the member gets an answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.adapters import wecom_sign
from bot.adapters.onebot import sign
from bot.adapters.wecom import WeComKeys
from bot.chat import ChatSession, OffsetClock
from bot.runtime import Bot
from bot.web.app import create_app
from tests.harness import Harness, make_config

SECRET = "surrogate-secret"
AIBOT = WeComKeys("aibottoken", "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg", "")


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> tuple[Harness, TestClient]:
    aibot = {"token": AIBOT.token, "encoding_aes_key": AIBOT.encoding_aes_key}
    h = await make_harness(
        {
            "onebot": {"secret": SECRET},
            "wecom": {"aibot": {**aibot, "passive_wait_s": 0}},
            "groups": [{"id": "70001", "platform": "console", "name": "码点群"}],
        }
    )
    return h, await aiohttp_client(create_app(h.bot, manage=False))


def onebot_body(text: str, nickname: str) -> bytes:
    body = {
        "time": int(time.time()),
        "self_id": 1,
        "post_type": "message",
        "message_type": "group",
        "message_id": 5,
        "group_id": 70001,
        "user_id": 42,
        "message": [{"type": "text", "data": {"text": text}}],
        "sender": {"user_id": 42, "nickname": nickname, "role": "member"},
    }
    return json.dumps(body).encode()  # ensure_ascii: "\ud800" travels as an escape


async def test_lone_surrogates_from_onebot_and_aibot_are_answered(
    setup: tuple[Harness, TestClient],
) -> None:
    h, client = setup
    body = onebot_body("/签到 今天\ud800走了8000步", "小\udfff明")
    headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
    assert (await client.post("/onebot", data=body, headers=headers)).status == 204
    inner = wecom_sign.aibot_text("70001", "lisi", "@群助手 /帮助 \udc80", "sur-1")
    enc = wecom_sign.encrypt(AIBOT, json.dumps(inner))  # ensure_ascii: the escape travels
    ts = str(int(time.time()))
    q = {"msg_signature": wecom_sign.signature(AIBOT.token, ts, "sur-n", enc)}
    q |= {"timestamp": ts, "nonce": "sur-n"}
    raw = json.dumps({"encrypt": enc}).encode()
    assert (await client.post("/wecom/aibot", params=q, data=raw)).status == 200
    said = await h.advance(seconds=1)
    said += await h.advance(seconds=5)
    assert any("签到成功" in line for line in said), said
    assert h.bot.dispatcher.failed == 0
    assert await h.advance(minutes=5) == []  # nothing retried, nothing said twice


async def test_chat_console_line_with_lone_surrogate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = OffsetClock()
    lines: list[str] = []
    bot = Bot(make_config(tmp_path), clock, workers=False, console_sink=lines.append)
    await bot.start()
    try:
        chat = ChatSession(bot, clock, "g1", "alice")
        assert await chat.handle("/签到 \udce4\udcbd")  # bytes the terminal could not decode
        assert "签到成功" in lines[-1]
        assert await chat.handle("/帮助")
        assert "可用指令" in lines[-1]
        assert bot.dispatcher.failed == 0
        assert "Traceback" not in capsys.readouterr().err
    finally:
        await bot.stop()
