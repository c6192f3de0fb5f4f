"""One bad slot fails alone, and a clock that jumps forward loses no occurrence silently."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.events import Scheduled
from bot.web.app import create_app
from handlers.programme.ticks import tick
from storage.models import OutboxMessage
from storage.models_programme import ProgrammeCustomSlot, ProgrammeOccurrence
from tests.fakes.clock import FakeClock
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness
from tests.test_http_onebot import SECRET, group_message, post
from tests.test_programme import SLOTS, WED_10

AUTH = {"Authorization": "Bearer test-api-token"}


async def ledger(h: Harness) -> dict[tuple[str, str], tuple[str, str]]:
    async with h.bot.db.read() as s:
        rows = (await s.scalars(select(ProgrammeOccurrence))).all()
    return {(r.slot_id, r.group_id): (r.status, r.reason) for r in rows}


async def add_bad_slot(h: Harness, group_id: str, by: str) -> None:
    """A slot whose content cannot render, saved by a version that did not check content."""
    async with h.bot.db.transaction() as s:
        s.add(
            ProgrammeCustomSlot(
                group_id=group_id,
                slot_id="bad",
                days="daily",
                time="10:00",
                theme="坏节目",
                content="{theme!z}",
                created_by=by,
                created_at=WED_10 - timedelta(days=3),
            )
        )


async def test_chat_refuses_content_that_cannot_render(
    make_harness: Callable[..., Awaitable[Harness]],
) -> None:
    h = await make_harness(SLOTS)
    said = await h.say("gadmin", "/加节目 daily 12:00 x {theme!z}")
    assert "节目内容只能用 {名字} 这样的占位符" in said[0] and "conversions" in said[0]
    async with h.bot.db.read() as s:
        assert (await s.scalars(select(ProgrammeCustomSlot))).all() == []


async def test_a_bad_slot_from_before_fails_alone_and_admins_are_told(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await make_harness(SLOTS, clock=FakeClock(WED_10 - timedelta(minutes=1)))
    await add_bad_slot(h, "g1", by="gadmin")
    h.new_lines()
    h.clock.advance(timedelta(seconds=65))
    for _ in range(2):
        await tick(h.bot)
        await h.bot.drain()
    said = h.new_lines()
    # the configured slot due in the same window reached both groups
    assert sorted(x.split("]")[0] for x in said if "今天是周三会员福利日" in x) == ["[g1", "[g2"]
    got = await ledger(h)
    assert got[("benefit", "g1")] == ("sent", "") and got[("benefit", "g2")] == ("sent", "")
    status, reason = got[("bad", "g1")]
    assert status == "failed" and "{theme!z}" in reason
    notices = [x for x in said if "坏节目" in x]
    assert notices and all("私聊" in x and "无法使用" in x for x in notices)
    assert len(notices) == 2  # gadmin and root, once: the second tick changed nothing
    client = await aiohttp_client(create_app(h.bot, manage=False))
    start = datetime(2026, 11, 18, 0, 0, tzinfo=UTC).isoformat()
    end = (WED_10 + timedelta(minutes=1)).isoformat()
    r = await client.get(
        "/api/groups/g1/programme", params={"from": start, "to": end}, headers=AUTH
    )
    statuses = {
        o["slot"]: o["status"] for o in (await r.json())["occurrences"] if "T10:00" in o["at"]
    }
    assert statuses["bad"] == "failed" and statuses["benefit"] == "sent"


async def test_forward_jump_while_running_skips_and_tells_admins(
    make_harness: Callable[..., Awaitable[Harness]],
) -> None:
    h = await make_harness(SLOTS, clock=FakeClock(WED_10 - timedelta(minutes=1)))
    await tick(h.bot)  # 09:59
    await h.bot.drain()
    h.new_lines()
    h.clock.set(WED_10 + timedelta(hours=3))  # the wall clock jumps to 13:00 (grace 30 min)
    await tick(h.bot)
    await h.bot.drain()
    said = h.new_lines()
    assert not [x for x in said if "今天是周三" in x]
    assert [x for x in said if "错过了发送时间" in x and "会员福利日" in x]
    got = await ledger(h)
    assert got[("benefit", "g1")][0] == "skipped" and got[("benefit", "g2")][0] == "skipped"


async def test_jump_within_grace_before_the_first_tick_still_posts(
    make_harness: Callable[..., Awaitable[Harness]],
) -> None:
    h = await make_harness(SLOTS, clock=FakeClock(WED_10 - timedelta(minutes=10)))  # 09:50
    await h.bot.drain()
    h.new_lines()
    h.clock.set(WED_10 + timedelta(minutes=20))  # 10:20, before the first tick ran
    await tick(h.bot)
    await h.bot.drain()
    posts = [x for x in h.new_lines() if "今天是周三会员福利日" in x]
    assert sorted(x.split("]")[0] for x in posts) == ["[g1", "[g2"]
    async with h.bot.db.read() as s:
        rows = (await s.scalars(select(ProgrammeOccurrence))).all()
    assert {(r.slot_id, r.status, r.late) for r in rows} >= {("benefit", "sent", True)}


async def test_an_occurrence_claimed_already_is_not_posted_again_in_a_batch(
    make_harness: Callable[..., Awaitable[Harness]],
) -> None:
    """A post event whose occurrence is in the ledger already (say a skip recorded first) and
    a fresh one share a dispatcher batch: the claim conflicts, the batch is run again one
    event at a time, and only the fresh occurrence posts."""
    h = await make_harness(SLOTS, clock=FakeClock(WED_10 + timedelta(seconds=5)))
    await tick(h.bot)
    await h.bot.drain()
    h.new_lines()
    now = h.clock.now()

    def post(slot: str, group: str, at: datetime, key: str) -> Scheduled:
        data = {"slot": slot, "at": at.isoformat(), "late": True, "campaign": ""}
        return Scheduled(
            dedup_key=key,
            platform="internal",
            group_id=group,
            occurred_at=now,
            job="programme.post",
            data=data,
        )

    morning = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)  # 08:30, not posted yet
    await h.bot.inbox.submit(post("benefit", "g1", WED_10, "again:benefit"))
    await h.bot.inbox.submit(post("morning", "g1", morning, "fresh:morning"))
    await h.bot.drain()
    said = h.new_lines()
    assert [x for x in said if "早安" in x] == ["[g1] 🤖 早安 A"]
    assert not [x for x in said if "会员福利日" in x]
    assert h.bot.dispatcher.failed == 0
    got = await ledger(h)
    assert got[("benefit", "g1")] == ("sent", "") and got[("morning", "g1")] == ("sent", "")


async def test_over_onebot_a_bad_slot_is_refused_and_an_old_one_fails_alone(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    async with FakeOneBot() as bridge:
        slot = {**SLOTS["programme"]["slots"][0], "targets": ["10001"]}
        h = await make_harness(
            {
                "onebot": {"secret": SECRET, "api_url": bridge.url},
                "bot": {"admins": []},
                "groups": [
                    {"id": "10001", "platform": "onebot", "name": "QQ群", "admins": ["777"]}
                ],
                "programme": {"slots": [slot]},
            },
            clock=FakeClock(WED_10 - timedelta(minutes=1)),
        )
        client = await aiohttp_client(create_app(h.bot, manage=False))
        body = group_message("/加节目 daily 10:00 x {theme!z}", mid=1, user=777, role="admin")
        assert (await post(client, body)).status == 204
        await h.bot.drain()
        assert "节目内容只能用" in bridge.sent_texts()[0]
        await add_bad_slot(h, "10001", by="777")
        h.clock.advance(timedelta(seconds=65))
        await tick(h.bot)
        await h.bot.drain()
        assert [t for t in bridge.sent_texts() if "会员福利日" in t] == [
            "今天是周三会员福利日！已有 0 人签到"
        ]
        private = [p for a, p in bridge.calls if a == "send_private_msg"]
        assert [p["user_id"] for p in private] == [777]
        assert "坏节目" in str(private[0]["message"]) and "无法使用" in str(private[0]["message"])
        assert (await ledger(h))[("bad", "10001")][0] == "failed"


async def test_onebot_alerts_skip_admin_ids_that_are_not_onebot_ids(
    make_harness: Callable[..., Awaitable[Harness]],
) -> None:
    """A global admin may be a WeCom userid ("root"): OneBot alerts go to the numeric ids only,
    and none of them is dead-lettered."""
    async with FakeOneBot() as bridge:
        h = await make_harness(
            {
                "onebot": {"secret": SECRET, "api_url": bridge.url},
                "bot": {"admins": ["root", "888"]},
                "groups": [{"id": "10001", "platform": "onebot", "admins": ["777"]}],
            },
            clock=FakeClock(WED_10 - timedelta(minutes=1)),
        )
        await add_bad_slot(h, "10001", by="777")
        h.clock.advance(timedelta(seconds=65))
        await tick(h.bot)
        await h.bot.drain()
        private = [p for a, p in bridge.calls if a == "send_private_msg"]
        assert sorted(p["user_id"] for p in private) == [777, 888]
        async with h.bot.db.transaction() as s:
            states = (await s.execute(select(OutboxMessage.status))).scalars().all()
        assert "dead" not in states and "failed" not in states, states
