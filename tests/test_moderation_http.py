"""Through the real /onebot path: merged greetings, warnings and a kick at the fake bridge."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from bot.adapters.onebot import sign
from bot.events import Scheduled
from bot.web.app import create_app
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

SECRET = "mod-secret"


def notice(kind: str, user: int, t: int) -> dict:
    return {
        "post_type": "notice",
        "notice_type": kind,
        "sub_type": "approve",
        "group_id": 10001,
        "user_id": user,
        "operator_id": user,
        "self_id": 999,
        "time": t,
    }


def message(user: int, text: str, mid: int, role: str = "member") -> dict:
    return {
        "post_type": "message",
        "message_type": "group",
        "message_id": mid,
        "group_id": 10001,
        "user_id": user,
        "self_id": 999,
        "time": 1763431200 + mid,
        "message": [{"type": "text", "data": {"text": text}}],
        "sender": {"user_id": user, "nickname": f"u{user}", "role": role},
    }


async def post(client: TestClient, body: dict) -> int:
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, raw)}
    return (await client.post("/onebot", data=raw, headers=headers)).status


async def test_greetings_warnings_and_kick_through_onebot(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    async with FakeOneBot(access_token="tok") as bridge:
        h = await make_harness(
            {
                "onebot": {
                    "secret": SECRET,
                    "api_url": bridge.url,
                    "access_token": "tok",
                    "self_id": "999",
                },
                "rules": {"banned_words": ["代购"], "warn_limit": 2},
                "groups": [{"id": "10001", "platform": "onebot", "name": "QQ福利群"}],
            }
        )
        client = await aiohttp_client(create_app(h.bot, manage=False))
        for i, user in enumerate((101, 102, 103)):
            assert await post(client, notice("group_increase", user, 1763431200 + i)) == 204
        await h.bot.drain()
        h.clock.advance(11)
        await h.feed(
            Scheduled(
                dedup_key=uuid.uuid4().hex,
                platform="internal",
                group_id=None,
                occurred_at=h.clock.now(),
                job="welcome.flush",
            )
        )
        greetings = [t for t in bridge.sent_texts("10001") if "欢迎" in t]
        assert len(greetings) == 1 and all(f"@{u}" in greetings[0] for u in (101, 102, 103))
        assert await post(client, message(555, "代 购 名牌包", 1, role="admin")) == 204
        await h.bot.drain()
        assert bridge.kicks() == [] and not [a for a, _ in bridge.calls if a == "delete_msg"]
        for mid in (2, 3):
            assert await post(client, message(101, "专业ＤＡＩ 代购", mid)) == 204
            await h.bot.drain()
        assert bridge.kicks() == [("10001", "101")]
        assert [p["message_id"] for a, p in bridge.calls if a == "delete_msg"] == [2, 3]
        assert any("警告 1/2" in t for t in bridge.sent_texts("10001"))
