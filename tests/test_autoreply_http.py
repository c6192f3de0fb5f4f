"""Auto-replies through the real /onebot path and the OneBot bridge: the answer quotes the
question, once per cooldown; an ad with the keyword is moderated and not answered; commands
and rules outside their hours stay unanswered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.adapters.onebot import sign
from bot.runtime import Bot
from bot.web.app import create_app
from tests.fakes.chat_model import FakeChatModel
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness, make_config

SECRET = "ar-secret"
GROUP = 10001
WAIT_S = 30.0  # a bound on waiting for what happens at once, not a timing claim


def message(user: int, text: str, mid: int, at_bot: bool = False) -> dict[str, Any]:
    segs: list[dict[str, Any]] = [{"type": "at", "data": {"qq": "999"}}] if at_bot else []
    segs.append({"type": "text", "data": {"text": text}})
    return {
        "post_type": "message",
        "message_type": "group",
        "message_id": mid,
        "group_id": GROUP,
        "user_id": user,
        "self_id": 999,
        "time": 1763431200 + mid,
        "message": segs,
        "sender": {"user_id": user, "nickname": f"u{user}", "role": "member"},
    }


async def post(client: TestClient, body: dict[str, Any]) -> int:
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, raw)}
    return (await client.post("/onebot", data=raw, headers=headers)).status


def onebot_config(bridge: FakeOneBot, autoreply: dict[str, Any]) -> dict[str, Any]:
    return {
        "onebot": {
            "secret": SECRET,
            "api_url": bridge.url,
            "access_token": "tok",
            "self_id": "999",
        },
        "autoreply": autoreply,
        "groups": [
            {"id": str(GROUP), "platform": "onebot", "name": "宝妈福利群", "tags": ["宝妈"]}
        ],
    }


def group_messages(bridge: FakeOneBot) -> list[list[dict[str, Any]]]:
    return [p["message"] for a, p in bridge.calls if a == "send_group_msg"]


async def test_questions_rules_ads_and_commands_through_onebot(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    rules = [
        {
            "id": "coupon",
            "keywords": ["优惠券", "领券"],
            "reply": "优惠券在小程序「会员中心」领取",
            "targets": ["tag:宝妈"],
        },
        {"id": "flash", "keywords": ["秒杀"], "reply": "秒杀开始啦", "hours": "20:00-22:00"},
        {"id": "checkin", "keywords": ["签到"], "reply": "不该回答命令"},
    ]
    async with FakeOneBot(access_token="tok") as bridge:
        h = await make_harness(onebot_config(bridge, {"rules": rules, "cooldown_s": 300}))
        client = await aiohttp_client(create_app(h.bot, manage=False))

        # an ad that contains the keyword: moderated (deleted, warned), never answered
        assert await post(client, message(107, "优惠券 加微信 vx12345678 领", 1)) == 204
        await h.bot.drain()
        assert [p["message_id"] for a, p in bridge.calls if a == "delete_msg"] == [1]
        assert not any("会员中心" in t for t in bridge.sent_texts(GROUP))

        # the question: one answer, quoting it
        assert await post(client, message(101, "优惠券在哪领？", 2)) == 204
        await h.bot.drain()
        answers = [
            m for m in group_messages(bridge) if "会员中心" in json.dumps(m, ensure_ascii=False)
        ]
        assert answers == [
            [
                {"type": "reply", "data": {"id": "2"}},
                {"type": "text", "data": {"text": "优惠券在小程序「会员中心」领取"}},
            ]
        ]
        # five more within the cooldown: still that one answer
        for i in range(5):
            assert await post(client, message(110 + i, "优惠券在哪领？", 10 + i)) == 204
        await h.bot.drain()
        assert sum("会员中心" in t for t in bridge.sent_texts(GROUP)) == 1

        # a rule outside its active hours (it is 10:00) stays silent
        assert await post(client, message(120, "秒杀几点开始", 30)) == 204
        # a command is never matched
        assert await post(client, message(121, "/签到", 31)) == 204
        await h.bot.drain()
        texts = bridge.sent_texts(GROUP)
        assert not any("秒杀开始啦" in t or "不该回答命令" in t for t in texts)
        assert any("签到成功" in t for t in texts)


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(int(WAIT_S / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not done: {what}")


async def test_a_slow_model_never_holds_up_other_events(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    """A running bot (its own loops, the real clock): while the model takes its time over an
    @-question, 100 check-ins are answered; then the model's answer arrives, quoting it."""
    async with FakeOneBot(access_token="tok") as bridge, FakeChatModel("每周三是会员日") as model:
        ai = {"enabled": True, "base_url": model.base_url, "model": "m", "timeout_s": 60}
        bot = Bot(
            make_config(tmp_path, onebot_config(bridge, {"ai": ai})),
            migrate=False,
            console_sink=lambda _line: None,
        )
        await bot.db.create_all()
        await bot.start()
        try:
            client = await aiohttp_client(create_app(bot, manage=False))
            gate = model.hold()
            assert await post(client, message(101, "会员日是哪天？", 1, at_bot=True)) == 204
            await until(lambda: len(model.requests) == 1, "the model was asked")
            for i in range(100):
                assert await post(client, message(200 + i, "/签到", 100 + i)) == 204
            await until(
                lambda: sum(t.count("签到成功") for t in bridge.sent_texts(GROUP)) == 100,
                "100 check-ins answered",
            )
            assert not any("每周三是会员日" in t for t in bridge.sent_texts(GROUP))
            gate.set()
            await until(
                lambda: any("每周三是会员日" in t for t in bridge.sent_texts(GROUP)),
                "the model's answer posted",
            )
            (answer,) = [m for m in group_messages(bridge) if "会员日" in str(m)]
            assert answer[0] == {"type": "reply", "data": {"id": "1"}}
            assert model.questions() == ["会员日是哪天？"]
        finally:
            await bot.stop()
