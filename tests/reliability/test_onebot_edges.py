"""OneBot answers and notices at the edges of the protocol.

Rules checked (bot/outbox/senders.py, bot/adapters/onebot.py, bot/dispatch/tracking.py):
- A bridge answer with status ``ok``/``async`` is a delivery whatever its retcode looks like
  (``"zero"``): the row is ``sent``, not dead.
- Status ``failed`` is retried (bridges use it for passing trouble) and dead after
  ``ONEBOT_FAILED_TRIES``; a retcode mirroring HTTP 400/401/403/404 is dead at once.
- A message from an anonymous sender (shared id 80000000) credits nobody: no check-in, no reply.
- ``group_decrease`` with ``kick_me`` (the bot was removed) marks the group inactive.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.adapters.onebot import sign
from bot.outbox.senders import ONEBOT_FAILED_TRIES
from bot.web.app import create_app
from storage.models import Group, OutboxMessage
from storage.models_checkin import Checkin
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness
from tests.reliability.serve import EPOCH, group_message

AUTH = {"Authorization": "Bearer test-api-token"}
SECRET = "edges-secret"
GID = "90001"


@pytest.fixture
async def bridge() -> AsyncIterator[FakeOneBot]:
    fake = FakeOneBot()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> tuple[Harness, TestClient]:
    h = await make_harness(
        {
            "onebot": {"secret": SECRET, "api_url": bridge.url},
            "groups": [{"id": GID, "platform": "onebot", "name": "边界群"}],
        }
    )
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def rows(h: Harness) -> list[tuple[str, int, str]]:
    async with h.bot.db.read() as s:
        q = select(OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.last_error)
        return [tuple(r) for r in (await s.execute(q.order_by(OutboxMessage.id))).all()]  # type: ignore[misc]


async def broadcast(client: TestClient, text: str) -> None:
    r = await client.post(f"/api/groups/{GID}/messages", json={"text": text}, headers=AUTH)
    assert r.status == 202


async def post(client: TestClient, body: bytes) -> int:
    headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
    return (await client.post("/onebot", data=body, headers=headers)).status


async def test_ok_with_an_odd_retcode_is_a_delivery(
    setup: tuple[Harness, TestClient], bridge: FakeOneBot
) -> None:
    h, client = setup
    bridge.answer_next({"status": "ok", "retcode": "zero"}, {"status": "async"})
    await broadcast(client, "通知一")
    await broadcast(client, "通知二")
    await h.advance(seconds=1)
    assert bridge.sent_texts(GID) == ["通知一", "通知二"]
    assert [(s, n) for s, n, _ in await rows(h)] == [("sent", 1), ("sent", 1)]


async def test_failed_is_retried_then_dead_refused_is_dead_at_once(
    setup: tuple[Harness, TestClient], bridge: FakeOneBot
) -> None:
    h, client = setup
    bridge.retcode_next(ONEBOT_FAILED_TRIES - 1, 100)  # account briefly offline
    await broadcast(client, "稍后送达")
    for _ in range(ONEBOT_FAILED_TRIES):
        await h.advance(seconds=20)
    assert bridge.sent_texts(GID) == ["稍后送达"]
    assert (await rows(h))[0][:2] == ("sent", ONEBOT_FAILED_TRIES)
    bridge.retcode_next(1, 1403)
    await broadcast(client, "被拒绝")
    await h.advance(seconds=1)
    assert (await rows(h))[1][:2] == ("dead", 1)
    bridge.retcode_next(ONEBOT_FAILED_TRIES, 100)
    await broadcast(client, "一直失败")
    for _ in range(ONEBOT_FAILED_TRIES + 2):
        await h.advance(seconds=20)
    assert (await rows(h))[2][:2] == ("dead", ONEBOT_FAILED_TRIES)
    assert bridge.sent_texts(GID) == ["稍后送达"]


async def test_anonymous_sender_is_not_a_member(
    setup: tuple[Harness, TestClient], bridge: FakeOneBot
) -> None:
    h, client = setup
    body = json.loads(group_message(int(GID), 80000000, 7, "/签到"))
    body["sub_type"] = "anonymous"
    body["anonymous"] = {"id": 123, "name": "匿名者", "flag": "f"}
    assert await post(client, json.dumps(body).encode()) == 204
    await h.advance(seconds=1)
    async with h.bot.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Checkin)) == 0
    assert bridge.sent_texts(GID) == []
    assert await post(client, group_message(int(GID), 555, 8, "/签到")) == 204
    await h.advance(seconds=1)
    assert any("签到成功" in t for t in bridge.sent_texts(GID))


async def test_kick_me_marks_the_group_inactive(setup: tuple[Harness, TestClient]) -> None:
    h, client = setup
    assert await post(client, group_message(int(GID), 555, 9, "你好")) == 204
    notice = {
        "time": EPOCH + 50,
        "self_id": 1,
        "post_type": "notice",
        "notice_type": "group_decrease",
        "sub_type": "kick_me",
        "group_id": int(GID),
        "operator_id": 777,
        "user_id": 1,
    }
    await h.advance(seconds=1)
    async with h.bot.db.read() as s:
        assert (await s.get(Group, GID)).active is True  # type: ignore[union-attr]
    assert await post(client, json.dumps(notice).encode()) == 204
    await h.advance(seconds=1)
    async with h.bot.db.read() as s:
        assert (await s.get(Group, GID)).active is False  # type: ignore[union-attr]
