"""Over signed POST /onebot in a configured group: admins cannot warn (or, through the warn
ladder, remove) the owner, a global admin or another admin, and /调整邀请 refuses one's own
count and anything above ``[referral] adjust_cap``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.adapters.onebot import sign
from bot.web.app import create_app
from storage.models_moderation import Warning_
from storage.models_referral import InviteAdjustment
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

SECRET = "hmac-secret"
OWNER, ADMIN, OTHER_ADMIN, ROOT, MEMBER = 501, 502, 503, 504, 505


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> tuple[Harness, TestClient]:
    h = await make_harness(
        {
            "bot": {"admins": [str(ROOT)]},
            "onebot": {"secret": SECRET, "api_url": bridge.url, "access_token": "bridge-token"},
            "groups": [{"id": "10001", "platform": "onebot", "admins": [str(OTHER_ADMIN)]}],
            "rules": {"warn_limit": 1, "limit_action": "kick"},
            "referral": {"adjust_cap": 50, "tiers": [{"invites": 1, "reward": "红包"}]},
        }
    )
    return h, await aiohttp_client(create_app(h.bot, manage=False))


class Chat:
    def __init__(self, h: Harness, client: TestClient) -> None:
        self.h, self.client, self.mid = h, client, 0

    async def say(self, user: int, text: str, role: str = "member", at: int = 0) -> None:
        self.mid += 1
        segs: list[dict[str, Any]] = [{"type": "text", "data": {"text": text}}]
        if at:
            segs.insert(1, {"type": "at", "data": {"qq": str(at)}})
        body = json.dumps(
            {
                "time": 1763431200,
                "self_id": 999,
                "post_type": "message",
                "message_type": "group",
                "sub_type": "normal",
                "message_id": self.mid,
                "group_id": 10001,
                "user_id": user,
                "message": segs,
                "sender": {"user_id": user, "nickname": f"u{user}", "role": role},
            },
            ensure_ascii=False,
        ).encode()
        headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
        assert (await self.client.post("/onebot", data=body, headers=headers)).status == 204
        await self.h.bot.drain()


async def count(h: Harness, model: Any) -> int:
    async with h.bot.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_admins_cannot_warn_or_remove_staff(
    setup: tuple[Harness, TestClient], bridge: FakeOneBot
) -> None:
    chat = Chat(*setup)
    await chat.say(OWNER, "早", role="owner")
    await chat.say(OTHER_ADMIN, "早")
    await chat.say(ROOT, "早")
    for target in (OWNER, OTHER_ADMIN, ROOT):
        await chat.say(ADMIN, "/警告 ", role="admin", at=target)
    await chat.say(ADMIN, "/警告 ", role="admin", at=ADMIN)  # oneself: an equal
    assert not [c for c in bridge.calls if c[0] == "set_group_kick"]
    assert await count(chat.h, Warning_) == 0
    replies = bridge.sent_texts()
    assert len(replies) == 4 and all("不能警告群主、管理员" in t for t in replies)
    # a plain member is still warned and, at the limit, removed
    await chat.say(MEMBER, "你好")
    await chat.say(ADMIN, "/警告 ", role="admin", at=MEMBER)
    kicks = [p for a, p in bridge.calls if a == "set_group_kick"]
    assert [int(p["user_id"]) for p in kicks] == [MEMBER]


async def test_adjustments_refuse_oneself_and_respect_the_cap(
    setup: tuple[Harness, TestClient], bridge: FakeOneBot
) -> None:
    chat = Chat(*setup)
    await chat.say(OWNER, "/调整邀请 +1", role="owner", at=OWNER)
    await chat.say(OWNER, "/调整邀请 +1000", role="owner", at=MEMBER)
    assert await count(chat.h, InviteAdjustment) == 0
    texts = bridge.sent_texts()
    assert "不能给自己调整邀请数" in texts[0]
    assert "单次调整最多 ±50" in texts[1]
    await chat.say(OWNER, "/调整邀请 +2 活动", role="owner", at=MEMBER)
    assert await count(chat.h, InviteAdjustment) == 1
