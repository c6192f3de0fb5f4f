"""Reward-code pools over signed POST /onebot: a group admin's private /奖品 导入 never
fulfils another group's claims, and a group not in [[groups]] never draws the operator's
codes, even when served (``unknown_groups = "manage"``)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.adapters.onebot import sign
from bot.web.app import create_app
from storage.models_referral import RewardClaim, RewardCode
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

SECRET = "hmac-secret"
ADMIN_A, ADMIN_B, ROOT, MEMBER_B, STRANGER = 601, 602, 603, 700, 800
GROUPS = [
    {"id": "10001", "platform": "onebot", "admins": [str(ADMIN_A)]},
    {"id": "10002", "platform": "onebot", "admins": [str(ADMIN_B)]},
]


Start = Callable[[dict[str, Any]], Awaitable["Chat"]]


class Chat:
    def __init__(self, h: Harness, client: TestClient) -> None:
        self.h, self.client, self.mid = h, client, 0

    async def say(self, user: int, text: str, group: int | None, at: int = 0) -> None:
        self.mid += 1
        segs: list[dict[str, Any]] = [{"type": "text", "data": {"text": text}}]
        if at:
            segs.append({"type": "at", "data": {"qq": str(at)}})
            segs.append({"type": "text", "data": {"text": " +1"}})
        body: dict[str, Any] = {
            "time": 1763431200,
            "self_id": 999,
            "post_type": "message",
            "message_type": "group" if group else "private",
            "sub_type": "normal" if group else "friend",
            "message_id": self.mid,
            "user_id": user,
            "message": segs,
            "sender": {"user_id": user, "nickname": f"u{user}", "role": "member"},
        }
        if group:
            body["group_id"] = group
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, raw)}
        assert (await self.client.post("/onebot", data=raw, headers=headers)).status == 204
        await self.h.bot.drain()

    async def claims(self) -> dict[str, str]:
        async with self.h.bot.db.read() as s:
            rows = (await s.execute(select(RewardClaim.group_id, RewardClaim.status))).all()
        return {g: st for g, st in rows}

    async def free_codes(self) -> dict[str, int]:
        async with self.h.bot.db.read() as s:
            q = select(RewardCode.pool).where(RewardCode.claim_id.is_(None))
            pools = list((await s.scalars(q)).all())
        return {p: pools.count(p) for p in set(pools)}


@pytest.fixture
def start(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> Start:
    async def go(over: dict[str, Any]) -> Chat:
        extra: dict[str, Any] = {
            "bot": {"admins": [str(ROOT)], **over.pop("bot", {})},
            "onebot": {"secret": SECRET, "api_url": bridge.url, "access_token": "bridge-token"},
            "groups": GROUPS,
            "referral": {"tiers": [{"invites": 1, "reward": "红包"}], **over},
        }
        h = await make_harness(extra)
        return Chat(h, await aiohttp_client(create_app(h.bot, manage=False)))

    return go


async def pending_claim_in_b(chat: Chat) -> None:
    await chat.say(MEMBER_B, "大家好", 10002)
    await chat.say(ADMIN_B, "/调整邀请", 10002, at=MEMBER_B)
    await chat.say(MEMBER_B, "/领奖", 10002)
    assert await chat.claims() == {"10002": "pending"}


async def test_admin_of_one_group_cannot_fill_a_shared_pool(
    start: Start, bridge: FakeOneBot
) -> None:
    chat = await start({})
    await pending_claim_in_b(chat)
    await chat.say(ADMIN_A, "/奖品 导入 1 CODE-A", None)
    assert await chat.claims() == {"10002": "pending"}
    assert await chat.free_codes() == {}
    assert "只能由全局管理员导入" in bridge.private_texts(ADMIN_A)[-1]
    await chat.say(ROOT, "/奖品 导入 1 CODE-R", None)  # the operator fills the shared pool
    assert await chat.claims() == {"10002": "fulfilled"}


async def test_group_pools_keep_imports_apart(start: Start, bridge: FakeOneBot) -> None:
    chat = await start({"pool_by": "group"})
    await pending_claim_in_b(chat)
    await chat.say(ADMIN_A, "/奖品 导入 1 CODE-A", None)
    assert await chat.free_codes() == {"group:10001": 1}
    assert await chat.claims() == {"10002": "pending"}
    await chat.say(ADMIN_A, "/奖品 导入 群=10002 1 CODE-X", None)
    assert "不是群 10002 的管理员" in bridge.private_texts(ADMIN_A)[-1]
    await chat.say(ADMIN_B, "/奖品 导入 1 CODE-B", None)
    assert await chat.claims() == {"10002": "fulfilled"}
    assert await chat.free_codes() == {"group:10001": 1}


async def test_a_served_unknown_group_never_draws_the_operators_codes(start: Start) -> None:
    chat = await start({"bot": {"unknown_groups": "manage"}})
    await chat.say(ROOT, "/奖品 导入 1 CODE-R", None)
    assert await chat.free_codes() == {"": 1}
    await chat.say(STRANGER, "我在", 30003)
    await chat.say(ROOT, "/调整邀请", 30003, at=STRANGER)
    await chat.say(STRANGER, "/领奖", 30003)
    assert await chat.claims() == {"30003": "pending"}
    assert await chat.free_codes() == {"": 1}
