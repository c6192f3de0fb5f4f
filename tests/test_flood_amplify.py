"""Through signed POST /onebot: a flood is punished once per window, nothing happens to a
member after their removal, admin alerts are capped, and bot commands are never a flood."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from bot.adapters.onebot import sign
from bot.web.app import create_app
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

SECRET = "flood-secret"
T0 = 1763431200
MakeHarness = Callable[..., Awaitable[Harness]]
MakeClient = Callable[..., Awaitable[TestClient]]


def message(user: int, text: str, mid: int, t: int) -> dict[str, Any]:
    return {
        "post_type": "message",
        "message_type": "group",
        "message_id": mid,
        "group_id": 10001,
        "user_id": user,
        "self_id": 999,
        "time": t,
        "message": [{"type": "text", "data": {"text": text}}],
        "sender": {"user_id": user, "nickname": f"u{user}", "role": "member"},
    }


async def post(client: TestClient, body: dict[str, Any]) -> int:
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, raw)}
    return (await client.post("/onebot", data=raw, headers=headers)).status


async def setup(
    make_harness: MakeHarness, aiohttp_client: MakeClient, bridge: FakeOneBot, **rules: Any
) -> tuple[Harness, TestClient]:
    h = await make_harness(
        {
            "onebot": {"secret": SECRET, "api_url": bridge.url, "self_id": "999"},
            "rules": rules,
            "groups": [{"id": "10001", "platform": "onebot", "name": "群", "admins": ["777"]}],
        }
    )
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def test_a_burst_is_warned_once(
    make_harness: MakeHarness, aiohttp_client: MakeClient
) -> None:
    async with FakeOneBot() as bridge:
        h, client = await setup(make_harness, aiohttp_client, bridge)
        for mid in range(1, 61):  # 60 messages within one second
            assert await post(client, message(101, f"刷刷刷{mid}", mid, T0)) == 204
        await h.bot.drain()
        warnings = [t for t in bridge.sent_texts("10001") if "警告" in t]
        assert len(warnings) == 1 and "警告 1/3" in warnings[0]
        assert len(bridge.private_texts("777")) == 1
        assert bridge.kicks() == []


async def test_no_warning_after_the_removal(
    make_harness: MakeHarness, aiohttp_client: MakeClient
) -> None:
    async with FakeOneBot() as bridge:
        h, client = await setup(make_harness, aiohttp_client, bridge, banned_words=["代购"])
        # a steady flood for 60 s: one warning per 10 s window until the third removes them
        for mid in range(1, 61):
            assert await post(client, message(101, f"刷{mid}", mid, T0 + mid)) == 204
            await h.bot.drain()
            h.clock.advance(1)
        texts = bridge.sent_texts("10001")
        warned = [i for i, t in enumerate(texts) if "警告" in t]
        kicked = [i for i, t in enumerate(texts) if "移出本群" in t]
        assert len(warned) == 3 and kicked == [warned[-1]], texts
        assert bridge.kicks() == [("10001", "101")]
        assert len(bridge.private_texts("777")) == 3
        # their banned word sent before the removal took effect: nothing more
        assert await post(client, message(101, "代购", 100, T0 + 61)) == 204
        await h.bot.drain()
        assert bridge.sent_texts("10001") == texts and len(bridge.private_texts("777")) == 3


async def test_admin_alerts_are_capped_per_minute(
    make_harness: MakeHarness, aiohttp_client: MakeClient
) -> None:
    async with FakeOneBot() as bridge:
        h, client = await setup(
            make_harness, aiohttp_client, bridge, alerts_per_minute=2, banned_words=["代购"]
        )
        for mid, user in enumerate(range(101, 106)):
            assert await post(client, message(user, "代购", mid, T0)) == 204
        await h.bot.drain()
        assert len([t for t in bridge.sent_texts("10001") if "警告 1/3" in t]) == 5
        assert len(bridge.private_texts("777")) == 2


def test_the_alert_cap_counts_on_the_monotonic_clock() -> None:
    from handlers.rules.throttle import AlertCap  # here, so the other tests run on any tree

    now = [100.0]
    cap = AlertCap(clock=lambda: now[0])
    assert [cap.allow("g", 2, i) for i in range(4)] == [0, 0, None, None]
    assert cap.allow("g", 2, 2) is None  # a re-run of the same event agrees
    assert cap.allow("h", 2, 10) == 0  # per group
    now[0] += 60
    assert cap.allow("g", 2, 5) == 2  # the two left out are counted in the next alert


async def test_tapping_a_command_is_no_flood(
    make_harness: MakeHarness, aiohttp_client: MakeClient
) -> None:
    async with FakeOneBot() as bridge:
        h, client = await setup(make_harness, aiohttp_client, bridge)
        for mid in range(1, 31):
            assert await post(client, message(101, "/签到", mid, T0)) == 204
        await h.bot.drain()
        texts = bridge.sent_texts("10001")
        assert not any("警告" in t or "刷屏" in t for t in texts)
        assert bridge.kicks() == [] and bridge.private_texts("777") == []
        answers = sum(t.count("签到") for t in texts)
        assert 1 <= answers <= 2, texts  # at most two answers to the same command
        # after the window the command is answered again
        h.clock.advance(4)
        assert await post(client, message(101, "/签到", 99, T0 + 11)) == 204
        await h.bot.drain()
        assert sum(t.count("签到") for t in bridge.sent_texts("10001")) == answers + 1
