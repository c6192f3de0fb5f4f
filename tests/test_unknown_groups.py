"""Groups that are not in the config, over signed POST /onebot: by default their events are
stored and nothing else happens; ``observe`` tracks and counts; ``manage`` acts as before."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.adapters.onebot import sign
from bot.config import ConfigError
from bot.web.app import create_app
from storage.models import InboxEvent, Member
from storage.models_checkin import Checkin
from storage.models_referral import InviteAdjustment
from storage.models_stats import StatsActivity
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

SECRET = "hmac-secret"
CONFIGURED = [{"id": "g1", "platform": "console", "name": "测试群", "admins": ["gadmin"]}]


Start = Callable[[str | None], Awaitable[tuple[Harness, TestClient]]]


@pytest.fixture
def start(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> Start:
    async def go(mode: str | None) -> tuple[Harness, TestClient]:
        extra: dict[str, Any] = {
            "onebot": {"secret": SECRET, "api_url": bridge.url, "access_token": "bridge-token"},
            "groups": CONFIGURED,
            "referral": {"tiers": [{"invites": 1, "reward": "红包"}]},
        }
        if mode is not None:
            extra["bot"] = {"unknown_groups": mode}
        h = await make_harness(extra)
        return h, await aiohttp_client(create_app(h.bot, manage=False))

    return go


def message(text: str, mid: int, *, role: str = "owner", at: str = "") -> bytes:
    segs: list[dict[str, Any]] = [{"type": "text", "data": {"text": text}}]
    if at:
        segs.append({"type": "at", "data": {"qq": at}})
        segs.append({"type": "text", "data": {"text": " +1000"}})
    body = {
        "time": 1763431200,
        "self_id": 999,
        "post_type": "message",
        "message_type": "group",
        "sub_type": "normal",
        "message_id": mid,
        "group_id": 20002,  # not in [[groups]]
        "user_id": 555,
        "message": segs,
        "sender": {"user_id": 555, "nickname": "群主", "role": role},
    }
    return json.dumps(body, ensure_ascii=False).encode()


async def send_all(h: Harness, client: TestClient) -> None:
    bodies = [message("/调整邀请 ", 1, at="555"), message("/签到", 2), message("/领奖", 3)]
    bodies.append(message("/帮助", 4))
    for body in bodies:
        headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
        assert (await client.post("/onebot", data=body, headers=headers)).status == 204
    await h.bot.drain()


async def count(h: Harness, model: Any) -> int:
    async with h.bot.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_unknown_group_is_ignored_by_default(start: Start, bridge: FakeOneBot) -> None:
    h, client = await start(None)
    await send_all(h, client)
    async with h.bot.db.read() as s:
        q = select(InboxEvent.status).where(InboxEvent.platform == "onebot")
        statuses = list((await s.scalars(q)).all())
    assert statuses == ["done"] * 4  # stored …
    assert bridge.sent_texts() == []  # … but never answered
    assert await count(h, InviteAdjustment) == 0
    assert await count(h, Checkin) == 0
    assert await count(h, Member) == 0


async def test_observed_group_is_tracked_not_served(start: Start, bridge: FakeOneBot) -> None:
    h, client = await start("observe")
    await send_all(h, client)
    assert bridge.sent_texts() == []
    assert await count(h, InviteAdjustment) == 0
    assert await count(h, Checkin) == 0
    assert await count(h, Member) == 1
    async with h.bot.db.read() as s:
        msgs = await s.scalar(select(StatsActivity.messages).where(StatsActivity.user_id == "555"))
    assert msgs == 4


async def test_managed_unknown_group_is_served(start: Start, bridge: FakeOneBot) -> None:
    h, client = await start("manage")
    await send_all(h, client)
    assert await count(h, Checkin) == 1
    assert any("可用指令" in t for t in bridge.sent_texts())


async def test_bad_mode_is_a_config_error(make_harness: Callable[..., Awaitable[Harness]]) -> None:
    with pytest.raises(ConfigError, match="unknown_groups"):
        await make_harness({"bot": {"unknown_groups": "yes"}})
