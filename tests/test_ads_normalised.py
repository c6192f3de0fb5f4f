"""Through signed POST /onebot: ads hidden by full-width forms, ideographic full stops,
separators inside numbers, ``微信``/``+V`` ids and OneBot contact cards are caught."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from bot.adapters.onebot import sign
from bot.web.app import create_app
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

SECRET = "ads-secret"
ADS = [
    "ｗｗｗ．ｅｖｉｌ．ｃｏｍ",
    "来玩 www。evil。com",
    "电话 １３８１２３４５６７８",
    "电话 138.1234.5678",
    "电话 138 1234 5678",
    "微信 abc12345",
    "+V abc12345",
    "＋Ｖ ａｂｃ１２３４５",
]
FINE = ["这个 99.9元", "2026.11.18 见", "升级到 v1.2.3", "我在微信群里", "加油"]


def message(user: int, segments: list[dict[str, Any]], mid: int) -> dict[str, Any]:
    return {
        "post_type": "message",
        "message_type": "group",
        "message_id": mid,
        "group_id": 10001,
        "user_id": user,
        "self_id": 999,
        "time": 1763431200,
        "message": segments,
        "sender": {"user_id": user, "nickname": f"u{user}", "role": "member"},
    }


def text(t: str) -> list[dict[str, Any]]:
    return [{"type": "text", "data": {"text": t}}]


async def test_hidden_ads_are_caught(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    async with FakeOneBot() as bridge:
        h = await make_harness(
            {
                "onebot": {"secret": SECRET, "api_url": bridge.url, "self_id": "999"},
                "rules": {"flood": {"enabled": False}, "ads": {"actions": ["delete"]}},
                "groups": [{"id": "10001", "platform": "onebot", "name": "群"}],
            }
        )
        client = await aiohttp_client(create_app(h.bot, manage=False))
        bodies = [text(t) for t in ADS + FINE]
        bodies.append([{"type": "contact", "data": {"type": "group", "id": "424242"}}])
        for mid, segments in enumerate(bodies, start=1):
            raw = json.dumps(message(100 + mid, segments, mid), ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, raw)}
            assert (await client.post("/onebot", data=raw, headers=headers)).status == 204
        await h.bot.drain()
        deleted = {p["message_id"] for a, p in bridge.calls if a == "delete_msg"}
        ads = set(range(1, len(ADS) + 1)) | {len(bodies)}
        missed = [bodies[i - 1] for i in sorted(ads - deleted)]
        wrong = [bodies[i - 1] for i in sorted(deleted - ads)]
        assert missed == [] and wrong == []
