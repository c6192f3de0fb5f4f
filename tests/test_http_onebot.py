"""HTTP-level: the real app, signed OneBot requests, rejections that change nothing,
replies through a fake OneBot bridge on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.adapters.onebot import sign
from bot.web.app import create_app
from storage.models import InboxEvent
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

SECRET = "hmac-secret"
GROUPS = [
    {"id": "10001", "platform": "onebot", "name": "QQ群", "admins": []},
    {"id": "g1", "platform": "console", "name": "测试群", "admins": ["gadmin"]},
]


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> tuple[Harness, TestClient]:
    h = await make_harness(
        {
            "onebot": {"secret": SECRET, "api_url": bridge.url, "access_token": "bridge-token"},
            "groups": GROUPS,
        }
    )
    client = await aiohttp_client(create_app(h.bot, manage=False))
    return h, client


def group_message(text: str, *, mid: int = 1, user: int = 555, role: str = "member") -> bytes:
    return json.dumps(
        {
            "time": 1763431200,
            "self_id": 999,
            "post_type": "message",
            "message_type": "group",
            "sub_type": "normal",
            "message_id": mid,
            "group_id": 10001,
            "user_id": user,
            "message": [{"type": "text", "data": {"text": text}}],
            "sender": {"user_id": user, "nickname": "阿明", "role": role},
        },
        ensure_ascii=False,
    ).encode()


async def post(client: TestClient, body: bytes, signature: str | None = "auto", **h: str) -> Any:
    headers = {"Content-Type": "application/json", **h}
    if signature == "auto":
        headers["X-Signature"] = sign(SECRET, body)
    elif signature is not None:
        headers["X-Signature"] = signature
    return await client.post("/onebot", data=body, headers=headers)


async def stored(h: Harness) -> int:
    async with h.bot.db.read() as s:
        q = select(func.count()).select_from(InboxEvent).where(InboxEvent.platform == "onebot")
        return int(await s.scalar(q) or 0)


async def test_help_reply_reaches_the_bridge(
    setup: tuple[Harness, TestClient], bridge: FakeOneBot
) -> None:
    h, client = setup
    r = await post(client, group_message("/帮助"))
    assert r.status == 204
    await h.bot.drain()
    texts = bridge.sent_texts()
    assert len(texts) == 1 and "可用指令" in texts[0]
    assert bridge.calls[0][0] == "send_group_msg"


async def test_redelivery_three_times_one_effect(
    setup: tuple[Harness, TestClient], bridge: FakeOneBot
) -> None:
    h, client = setup
    body = group_message("/帮助", mid=7)
    for _ in range(3):
        assert (await post(client, body)).status == 204
    await h.bot.drain()
    assert await stored(h) == 1
    assert len(bridge.sent_texts()) == 1


@pytest.mark.parametrize(
    ("body", "signature", "headers", "status"),
    [
        (group_message("/帮助"), None, {}, 401),
        (group_message("/帮助"), "sha1=" + "0" * 40, {}, 403),
        (b"{not json", "auto", {}, 400),
        (b"\xff\xfe\xfd", "auto", {}, 400),
        (b"{}" + b" " * 70_000, "auto", {}, 413),
        (group_message("/帮助"), "auto", {"Content-Type": "text/xml"}, 415),
    ],
)
async def test_bad_requests_change_nothing(
    setup: tuple[Harness, TestClient],
    body: bytes,
    signature: str | None,
    headers: dict[str, str],
    status: int,
) -> None:
    h, client = setup
    r = await post(client, body, signature, **headers)
    assert r.status == status
    assert await stored(h) == 0
    assert (await post(client, group_message("ok", mid=99))).status == 204  # still serving


async def test_heartbeat_is_acknowledged_not_stored(setup: tuple[Harness, TestClient]) -> None:
    h, client = setup
    body = json.dumps({"post_type": "meta_event", "meta_event_type": "heartbeat"}).encode()
    assert (await post(client, body)).status == 204
    assert await stored(h) == 0


async def test_health_and_metrics(setup: tuple[Harness, TestClient]) -> None:
    _h, client = setup
    r = await client.get("/healthz")
    assert r.status == 200 and (await r.json())["status"] == "ok"
    await post(client, group_message("hi", mid=3))
    text = await (await client.get("/metrics")).text()
    assert 'groupbot_events_total{outcome="new",platform="onebot"} 1.0' in text


async def test_api_needs_token_and_broadcast_is_queued(
    setup: tuple[Harness, TestClient], bridge: FakeOneBot
) -> None:
    h, client = setup
    assert (await client.get("/api/outbox")).status == 401
    bad = {"Authorization": "Bearer wrong"}
    assert (await client.get("/api/outbox", headers=bad)).status == 401
    auth = {"Authorization": "Bearer test-api-token"}
    r = await client.post("/api/groups/10001/messages", json={"text": "今晚8点直播"}, headers=auth)
    assert r.status == 202 and isinstance((await r.json())["id"], int)
    assert (
        await client.post("/api/groups/nope/messages", json={"text": "x"}, headers=auth)
    ).status == 404
    assert (await client.post("/api/groups/10001/messages", data=b"[", headers=auth)).status == 400
    assert (
        await client.post("/api/groups/10001/messages", json={"text": ""}, headers=auth)
    ).status == 400
    await h.bot.drain()
    assert bridge.sent_texts() == ["今晚8点直播"]
    out = await (await client.get("/api/outbox?status=sent", headers=auth)).json()
    assert [m["status"] for m in out["messages"]] == ["sent"]
    groups = await (await client.get("/api/groups", headers=auth)).json()
    assert {g["id"] for g in groups["groups"]} >= {"10001", "g1"}
