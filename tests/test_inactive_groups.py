"""A group the bot was removed from (OneBot ``kick_me``, signed ``POST /onebot``) gets nothing
posted on the bot's own initiative: the programme records its occurrence ``skipped`` with the
reason, a settled greeting is dropped with an audit entry, a broadcast is refused with 409 —
while the group beside it is served as ever."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.adapters.onebot import sign
from bot.web.app import create_app
from handlers.programme.ticks import tick
from handlers.referral import FEATURE as REFERRAL
from handlers.welcome.events import flush_due
from storage.models import AuditEntry
from storage.models_programme import ProgrammeOccurrence
from tests.fakes.clock import FakeClock
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness
from tests.reliability.serve import EPOCH, group_message, join_notice
from tests.test_programme import WED_10

SECRET = "inactive-secret"
AUTH = {"Authorization": "Bearer test-api-token"}
GONE, HERE = "90001", "90002"  # the bot is removed from GONE; HERE stays


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> tuple[Harness, TestClient]:
    h = await make_harness(
        {
            "onebot": {"secret": SECRET, "api_url": bridge.url, "access_token": "bridge-token"},
            "welcome": {"window_s": 0, "max_wait_s": 0},
            "referral": {"qualify_days": 1, "tiers": [{"invites": 1, "reward": "保温杯"}]},
            "groups": [
                {"id": gid, "platform": "onebot", "name": f"群{gid}", "tags": ["t"]}
                for gid in (GONE, HERE)
            ],
            "programme": {
                "slots": [
                    {
                        "id": "daily",
                        "days": ["daily"],
                        "time": "10:00",
                        "theme": "每日话题",
                        "content": "今天的话题来啦",
                        "targets": ["tag:t"],
                    }
                ]
            },
        },
        clock=FakeClock(WED_10 - timedelta(minutes=2)),
    )
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def post(client: TestClient, body: bytes) -> None:
    headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
    assert (await client.post("/onebot", data=body, headers=headers)).status == 204


def kick_me(gid: str) -> bytes:
    notice = {
        "time": EPOCH + 50,
        "self_id": 1,
        "post_type": "notice",
        "notice_type": "group_decrease",
        "sub_type": "kick_me",
        "group_id": int(gid),
        "operator_id": 777,
        "user_id": 1,
    }
    return json.dumps(notice).encode()


async def test_nothing_is_posted_into_a_group_the_bot_was_removed_from(
    setup: tuple[Harness, TestClient], bridge: FakeOneBot
) -> None:
    h, client = setup
    for i, gid in enumerate((GONE, HERE)):
        await post(client, group_message(int(gid), 555, 10 + i, "大家好"))
        await post(client, join_notice(int(gid), 600 + i, 20 + i))  # a greeting will be due
    await h.advance(seconds=1)
    await post(client, kick_me(GONE))  # removed before the greeting's flush
    await h.advance(seconds=1)

    assert await flush_due(h.bot)
    await h.advance(seconds=1)
    h.clock.advance(timedelta(minutes=2))  # 10:00 has come
    await tick(h.bot)
    await h.advance(seconds=1)

    assert bridge.sent_texts(GONE) == []
    here = bridge.sent_texts(HERE)
    assert "今天的话题来啦" in here and any("欢迎" in t for t in here)
    async with h.bot.db.read() as s:
        ledger = {
            r.group_id: (r.status, r.reason)
            for r in (await s.scalars(select(ProgrammeOccurrence))).all()
        }
        audit = (
            await s.scalars(select(AuditEntry).where(AuditEntry.action == "welcome.skipped"))
        ).all()
    assert ledger[HERE] == ("sent", "")
    assert ledger[GONE] == ("skipped", "group inactive: the bot left or was removed")
    assert [(a.target_id, a.detail["reason"]) for a in audit] == [
        (GONE, "group inactive: the bot left or was removed")
    ]
    # the programme API shows it as skipped, not pending or sent
    span = {"from": WED_10.isoformat(), "to": (WED_10 + timedelta(hours=1)).isoformat()}
    r = await client.get(f"/api/groups/{GONE}/programme", params=span, headers=AUTH)
    assert [o["status"] for o in (await r.json())["occurrences"]] == ["skipped"]

    # a broadcast into the group is refused and queues nothing; the other group takes one
    r = await client.post(f"/api/groups/{GONE}/messages", json={"text": "通知"}, headers=AUTH)
    assert r.status == 409 and "inactive" in (await r.json())["error"]
    r = await client.post(f"/api/groups/{HERE}/messages", json={"text": "通知"}, headers=AUTH)
    assert r.status == 202
    await h.advance(seconds=1)
    assert bridge.sent_texts(GONE) == [] and "通知" in bridge.sent_texts(HERE)
    listed = (await (await client.get("/api/groups", headers=AUTH)).json())["groups"]
    assert {g["id"]: g["active"] for g in listed} == {GONE: False, HERE: True}


async def test_a_tier_reached_in_a_group_the_bot_left_is_not_announced_there(
    setup: tuple[Harness, TestClient], bridge: FakeOneBot
) -> None:
    h, client = setup
    for i, gid in enumerate((GONE, HERE)):
        await post(client, join_notice(int(gid), 700 + i, 30 + i, inviter=555))
    await h.advance(seconds=1)
    await post(client, kick_me(GONE))
    await h.advance(days=1, seconds=5)  # the invites qualify
    (job,) = REFERRAL.jobs
    await job.run(h.bot)
    await h.advance(seconds=1)

    assert not any("保温杯" in t for t in bridge.sent_texts(GONE))
    assert any("保温杯" in t for t in bridge.sent_texts(HERE))
    async with h.bot.db.read() as s:
        q = select(AuditEntry).where(AuditEntry.action == "referral.tier_not_announced")
        audit = (await s.scalars(q)).all()
    assert [(a.target_id, a.detail) for a in audit] == [
        ("555", {"tier": 1, "reason": "group inactive: the bot left or was removed"})
    ]
