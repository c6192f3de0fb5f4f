"""Broadcasts over real HTTP: ``/api/broadcasts`` with the bearer token, messages through the
outbox to a fake OneBot bridge on 127.0.0.1, the report compared with what the bridge got."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from bot.web.app import create_app
from handlers.broadcast.fanout import queue_due
from storage.models import Group, OutboxMessage
from storage.models_broadcast import Broadcast, BroadcastGroup
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

AUTH = {"Authorization": "Bearer test-api-token"}
GROUPS = [
    {"id": "30001", "platform": "onebot", "name": "宝妈一群", "tags": ["宝妈"]},
    {"id": "30002", "platform": "onebot", "name": "宝妈二群", "tags": ["宝妈", "VIP"]},
    {"id": "30003", "platform": "onebot", "name": "VIP群", "tags": ["VIP"]},
    {"id": "30004", "platform": "onebot", "tags": ["无名"]},
]
Setup = tuple[Harness, TestClient]


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> Setup:
    h = await make_harness(
        {
            "onebot": {"secret": "s", "api_url": bridge.url, "access_token": "bridge-token"},
            "groups": GROUPS,
        }
    )
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def send(client: TestClient, body: dict[str, Any], **headers: str) -> Any:
    r = await client.post("/api/broadcasts", json=body, headers={**AUTH, **headers})
    return r.status, await r.json()


async def report(client: TestClient, bid: int) -> dict[str, Any]:
    r = await client.get(f"/api/broadcasts/{bid}", headers=AUTH)
    assert r.status == 200
    body: dict[str, Any] = await r.json()
    return body


def states(rep: dict[str, Any]) -> dict[str, str]:
    return {g["group_id"]: g["state"] for g in rep["groups"]}


async def stored(h: Harness) -> tuple[int, int, int]:
    """(broadcasts, broadcast groups, outbox rows)."""
    async with h.bot.db.read() as s:
        return (
            int(await s.scalar(select(func.count()).select_from(Broadcast)) or 0),
            int(await s.scalar(select(func.count()).select_from(BroadcastGroup)) or 0),
            int(await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0),
        )


async def test_a_tag_reaches_exactly_its_groups_once_each(setup: Setup, bridge: FakeOneBot) -> None:
    h, client = setup
    status, body = await send(client, {"targets": ["tag:宝妈"], "text": "{group}的宝妈们好"})
    assert status == 201 and body["groups"] == 2
    await h.bot.drain()
    await h.bot.drain()  # (a second look finds nothing more to do)
    assert bridge.sent_texts("30001") == ["宝妈一群的宝妈们好"]
    assert bridge.sent_texts("30002") == ["宝妈二群的宝妈们好"]
    assert bridge.sent_texts("30003") == [] and bridge.sent_texts("30004") == []
    rep = await report(client, body["id"])
    assert states(rep) == {"30001": "sent", "30002": "sent"}
    assert rep["status"] == "done" and rep["counts"]["sent"] == 2
    assert sum(rep["counts"].values()) == 2 and rep["targets"] == ["tag:宝妈"]


async def test_targets_overlap_and_all(setup: Setup, bridge: FakeOneBot) -> None:
    h, client = setup
    status, body = await send(client, {"targets": ["tag:VIP", "group:30002"], "text": "嗨"})
    assert status == 201 and body["groups"] == 2  # 30002 named twice, sent once
    status, every = await send(client, {"targets": ["all"], "markdown": "**通知** {group_id}"})
    assert status == 201 and every["groups"] == 4
    await h.bot.drain()
    assert bridge.sent_texts("30002") == ["嗨", "**通知** 30002"]
    assert bridge.sent_texts("30003") == ["嗨", "**通知** 30003"]
    assert states(await report(client, every["id"])) == dict.fromkeys(
        ("30001", "30002", "30003", "30004"), "sent"
    )


async def test_a_group_whose_text_cannot_be_filled_fails_alone(
    setup: Setup, bridge: FakeOneBot
) -> None:
    h, client = setup
    status, body = await send(client, {"targets": ["all"], "text": "欢迎来到{group}"})
    assert status == 201
    await h.bot.drain()
    rep = await report(client, body["id"])
    assert states(rep) == {"30001": "sent", "30002": "sent", "30003": "sent", "30004": "failed"}
    reason = {g["group_id"]: g["reason"] for g in rep["groups"]}["30004"]
    assert "{group}" in reason and "name" in reason
    assert bridge.sent_texts("30004") == [] and len(bridge.sent_texts()) == 3
    assert rep["counts"]["failed"] == 1 and rep["status"] == "done"


async def test_an_inactive_group_is_skipped(setup: Setup, bridge: FakeOneBot) -> None:
    h, client = setup
    async with h.bot.db.transaction() as s:
        s.add(Group(id="30003", platform="onebot", name="VIP群", created_at=h.clock.now()))
        await s.flush()
        await s.execute(update(Group).where(Group.id == "30003").values(active=False))
    status, body = await send(client, {"targets": ["tag:VIP"], "text": "VIP 专享"})
    assert status == 201
    await h.bot.drain()
    rep = await report(client, body["id"])
    assert {g["group_id"]: (g["state"], g["reason"]) for g in rep["groups"]} == {
        "30002": ("sent", ""),
        "30003": ("failed", "inactive"),
    }
    assert bridge.sent_texts() == ["VIP 专享"]


async def test_the_report_follows_the_outbox(setup: Setup, bridge: FakeOneBot) -> None:
    """Retrying is ``failed`` with the error, refused for good is ``dead`` with the reason."""
    h, client = setup
    bridge.retcode_next(1, 1403)  # the first send is refused for good
    status, body = await send(client, {"targets": ["group:30001"], "text": "一"})
    await h.bot.drain()
    rep = await report(client, body["id"])
    assert rep["groups"][0]["state"] == "dead" and "1403" in rep["groups"][0]["reason"]
    assert rep["counts"]["dead"] == 1 and rep["status"] == "done"
    bridge.retcode_next(1, 100)  # offline for a moment: retried later
    status, body = await send(client, {"targets": ["group:30002"], "text": "二"})
    assert status == 201
    await h.bot.drain()
    rep = await report(client, body["id"])
    assert rep["groups"][0]["state"] == "failed" and rep["groups"][0]["reason"]
    assert rep["status"] == "sending" and bridge.sent_texts("30002") == []
    await h.advance(minutes=5)
    rep = await report(client, body["id"])
    assert states(rep) == {"30002": "sent"} and bridge.sent_texts("30002") == ["二"]


async def test_idempotency_key_returns_the_same_broadcast(setup: Setup, bridge: FakeOneBot) -> None:
    h, client = setup
    msg = {"targets": ["tag:宝妈"], "text": "只发一次"}
    first = await send(client, msg, **{"Idempotency-Key": "op-42"})
    again = await send(client, msg, **{"Idempotency-Key": "op-42"})
    assert first[0] == again[0] == 201 and first[1]["id"] == again[1]["id"]
    assert again[1]["groups"] == 2
    other = await send(client, {**msg, "text": "别的"}, **{"Idempotency-Key": "op-42"})
    assert other[0] == 409 and other[1]["field"] == "Idempotency-Key"
    await h.bot.drain()
    assert sorted(bridge.sent_texts()) == ["只发一次", "只发一次"]
    assert (await stored(h))[0] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "x"}, "targets"),
        ({"targets": [], "text": "x"}, "targets"),
        ({"targets": "all", "text": "x"}, "targets"),
        ({"targets": ["everyone"], "text": "x"}, "targets[0]"),
        ({"targets": ["all", "tag:没有这个标签"], "text": "x"}, "targets[1]"),
        ({"targets": ["group:nope"], "text": "x"}, "targets[0]"),
        ({"targets": ["tag:"], "text": "x"}, "targets[0]"),
        ({"targets": ["all"]}, "text"),
        ({"targets": ["all"], "text": "  "}, "text"),
        ({"targets": ["all"], "text": 5}, "text"),
        ({"targets": ["all"], "text": "x", "markdown": "y"}, "text"),
        ({"targets": ["all"], "text": "福" * 16_001}, "text"),
        ({"targets": ["all"], "markdown": "{nickname}"}, "markdown"),
        ({"targets": ["all"], "text": "{group.__class__}"}, "text"),
        ({"targets": ["all"], "text": "{group:>99999}"}, "text"),
        ({"targets": ["all"], "text": "{}"}, "text"),
        ({"targets": ["all"], "text": "x", "at": "明天晚上"}, "at"),
        ({"targets": ["all"], "text": "x", "at": "2026-11-20T20:00:00"}, "at"),
        ({"targets": ["all"], "text": "x", "at": "2026-11-17T20:00:00+08:00"}, "at"),
        ({"targets": ["all"], "text": "x", "at": "2031-11-17T20:00:00+08:00"}, "at"),
        ({"targets": ["all"], "text": "x", "at": 1763431200}, "at"),
    ],
)
async def test_bad_input_is_400_naming_the_field_and_changes_nothing(
    setup: Setup, bridge: FakeOneBot, body: dict[str, Any], field: str
) -> None:
    h, client = setup
    status, answer = await send(client, body)
    assert status == 400 and answer["field"] == field, answer
    assert answer["error"].startswith(field)
    await h.bot.drain()
    assert await stored(h) == (0, 0, 0) and bridge.calls == []


async def test_bad_requests_of_other_kinds(setup: Setup) -> None:
    h, client = setup
    r = await client.post("/api/broadcasts", data=b"[1", headers=AUTH)
    assert r.status == 400
    bad_key = {"Idempotency-Key": "有 空格"}
    assert (await send(client, {"targets": ["all"], "text": "x"}, **bad_key))[0] == 400
    assert (await client.get("/api/broadcasts/12x", headers=AUTH)).status == 404
    assert (await client.get("/api/broadcasts/99", headers=AUTH)).status == 404
    assert (await client.delete("/api/broadcasts/99", headers=AUTH)).status == 404
    assert (await client.get("/api/broadcasts?limit=0", headers=AUTH)).status == 400
    for method, path in [
        ("POST", "/api/broadcasts"),
        ("POST", "/api/broadcasts/preview"),
        ("GET", "/api/broadcasts"),
        ("GET", "/api/broadcasts/1"),
        ("DELETE", "/api/broadcasts/1"),
    ]:
        r = await client.request(method, path, json={"targets": ["all"], "text": "x"})
        assert r.status == 401, (method, path)
    assert await stored(h) == (0, 0, 0)


async def test_scheduled_then_cancelled_sends_nothing(setup: Setup, bridge: FakeOneBot) -> None:
    h, client = setup
    at = (h.clock.now() + timedelta(hours=2)).isoformat()
    status, body = await send(client, {"targets": ["all"], "text": "今晚直播", "at": at})
    assert status == 201
    await queue_due(h.bot)
    await h.bot.drain()
    rep = await report(client, body["id"])
    assert rep["status"] == "scheduled" and set(states(rep).values()) == {"scheduled"}
    r = await client.delete(f"/api/broadcasts/{body['id']}", headers=AUTH)
    assert r.status == 200
    rep = await r.json()
    assert rep["status"] == "cancelled" and rep["counts"]["cancelled"] == 4
    h.clock.advance(timedelta(hours=3))
    await h.run_jobs()  # the feature's broadcast-due job
    assert bridge.calls == [] and (await stored(h))[2] == 0
    assert (await report(client, body["id"]))["status"] == "cancelled"


async def test_scheduled_goes_when_due(setup: Setup, bridge: FakeOneBot) -> None:
    h, client = setup
    at = (h.clock.now() + timedelta(minutes=30)).isoformat()
    status, body = await send(client, {"targets": ["tag:VIP"], "text": "{weekday}见", "at": at})
    assert status == 201
    h.clock.advance(timedelta(minutes=29))
    await h.run_jobs()  # the feature's broadcast-due job
    assert bridge.calls == []
    h.clock.advance(timedelta(minutes=1))
    await h.run_jobs()  # the feature's broadcast-due job
    assert sorted(bridge.sent_texts()) == ["周三见", "周三见"]
    rep = await report(client, body["id"])
    assert rep["status"] == "done" and rep["counts"]["sent"] == 2


async def test_cancel_after_part_has_gone(setup: Setup, bridge: FakeOneBot) -> None:
    """What went stays sent; what still waits (a retry) is taken back and never sent."""
    h, client = setup
    bridge.retcode_next(1, 100)
    status, body = await send(client, {"targets": ["group:30001"], "text": "先"})
    assert status == 201
    await h.bot.drain()  # 30001 waits for its retry
    status, body = await send(client, {"targets": ["tag:宝妈", "group:30003"], "text": "后"})
    assert status == 201
    await h.bot.drain()  # 30002 and 30003 go; 30001 keeps its order behind the retry
    rep = await report(client, body["id"])
    assert states(rep) == {"30001": "queued", "30002": "sent", "30003": "sent"}
    r = await client.delete(f"/api/broadcasts/{body['id']}", headers=AUTH)
    rep = await r.json()
    assert states(rep) == {"30001": "cancelled", "30002": "sent", "30003": "sent"}
    assert rep["took_back"] is True and rep["status"] == "cancelled"
    await h.advance(minutes=10)
    assert bridge.sent_texts("30001") == ["先"]  # the earlier message still went, this one not
    assert sorted(bridge.sent_texts()) == ["先", "后", "后"]
    again = await (await client.delete(f"/api/broadcasts/{body['id']}", headers=AUTH)).json()
    assert again["took_back"] is False and states(again) == states(rep)


async def test_a_retry_after_the_time_passed_still_finds_its_broadcast(
    setup: Setup, bridge: FakeOneBot
) -> None:
    """The key is looked up before the checks: a time that has passed meanwhile does not
    turn the retry into a 400 (or a second broadcast)."""
    h, client = setup
    at = (h.clock.now() + timedelta(minutes=3)).isoformat()
    msg = {"targets": ["group:30001"], "text": "三分钟后", "at": at}
    first = await send(client, msg, **{"Idempotency-Key": "retry-late"})
    h.clock.advance(timedelta(minutes=10))
    await h.run_jobs()  # the feature's broadcast-due job
    again = await send(client, msg, **{"Idempotency-Key": "retry-late"})
    assert first == again == (201, {"id": first[1]["id"], "groups": 1})
    assert (await send(client, msg))[0] == 400  # without the key: the time has passed
    await h.bot.drain()
    assert bridge.sent_texts() == ["三分钟后"] and (await stored(h))[0] == 1
