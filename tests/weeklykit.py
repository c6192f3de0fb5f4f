"""A two-week history for the weekly summary's tests (2026-W47 and 2026-W48, Asia/Shanghai),
with an admin group on OneBot (the fake bridge) that the summary is posted to.

What happens (the harness starts on Wednesday 2026-11-18 10:00, in W47):
- W47: g1 (宝妈) a, b, c join, c leaves, a speaks, b checks in; g2 (宝妈, VIP) x joins and
  speaks; g3 (no tag) z joins.
- W48 (Tuesday 2026-11-24 10:00): g1 d, e, f join (f invited by d, valid at once), a leaves,
  d and e speak, d, e and f check in; g2 y joins, x and y speak; g3 z leaves.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.events import Scheduled
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

SH = ZoneInfo("Asia/Shanghai")
AUTH = {"Authorization": "Bearer test-api-token"}
ADMIN_GROUP = "90001"
GROUPS = [
    {"id": "g1", "platform": "console", "name": "宝妈一群", "tags": ["宝妈"]},
    {"id": "g2", "platform": "console", "name": "宝妈VIP", "tags": ["宝妈", "VIP"]},
    {"id": "g3", "platform": "console", "name": "闲聊群"},
    {"id": ADMIN_GROUP, "platform": "onebot", "name": "运营管理群"},
]
WEEKLY = {"enabled": True, "weekday": "mon", "time": "09:00", "group": ADMIN_GROUP, "top": 1}


def config(bridge: FakeOneBot, **weekly: Any) -> dict[str, Any]:
    return {
        "onebot": {"secret": "s", "api_url": bridge.url, "access_token": "bridge-token"},
        "groups": GROUPS,
        "referral": {"qualify_days": 0, "deduct_days": 7},
        "weekly": {**WEEKLY, **weekly},
    }


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


async def settle(h: Harness) -> None:
    await h.feed(
        Scheduled(
            dedup_key=f"settle-{uuid.uuid4().hex}",
            platform="internal",
            group_id=None,
            occurred_at=h.clock.now(),
            job="referral.settle",
        )
    )


async def seed(h: Harness) -> None:
    """The two weeks of the module's story."""
    for u in ("a", "b", "c"):
        await h.join(u, group="g1")
    await h.leave("c", group="g1")
    await h.say("a", "大家好", group="g1")
    await h.say("b", "/签到", group="g1")
    await h.join("x", group="g2")
    await h.say("x", "早", group="g2")
    await h.join("z", group="g3")

    h.clock.set(local(2026, 11, 24, 10))
    await h.join("d", group="g1")
    await h.join("e", group="g1")
    await h.join("f", group="g1", inviter="d")
    await settle(h)
    await h.leave("a", group="g1")
    for u in ("d", "e"):
        await h.say(u, "你好", group="g1")
    for u in ("d", "e", "f"):
        await h.say(u, "/签到", group="g1")
    await h.join("y", group="g2")
    await h.say("x", "在", group="g2")
    await h.say("y", "新人报到", group="g2")
    await h.leave("z", group="g3")
