"""Daily statistics through real events: counted once per event (even when the platform
delivers it again), days cut at midnight in the group's timezone, figures that other tables
hold (check-ins, invites, programme posts) agreeing with those tables, and the stats API."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.events import MemberJoined, MemberLeft, MessageReceived, Scheduled
from bot.web.app import create_app
from handlers.programme.ticks import tick
from tests.fakes.clock import FakeClock
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
AUTH = {"Authorization": "Bearer test-api-token"}
TODAY = "2026-11-18"  # the harness clock: Wednesday 10:00 in Shanghai


async def stats(h: Harness, days: int = 3, group: str = "g1") -> dict[str, dict[str, Any]]:
    from handlers.stats import daily_series

    async with h.bot.db.read() as s:
        series = await daily_series(s, h.bot.config, group, days, h.clock.now())
    return {d.date: d.as_dict() for d in series}


def event(h: Harness, cls: type, key: str, **kw: Any) -> Any:
    base = dict(dedup_key=key, platform="console", group_id="g1", occurred_at=h.clock.now())
    return cls(**base, **kw)


async def test_each_event_counts_once_even_when_redelivered(make_harness: MakeHarness) -> None:
    h = await make_harness()
    join = event(h, MemberJoined, "join-alice", user_id="alice", user_name="Alice")
    msg = event(h, MessageReceived, "msg-1", user_id="alice", text="大家好", message_id="m1")
    checkin = event(h, MessageReceived, "msg-2", user_id="alice", text="/签到", message_id="m2")
    other = event(h, MessageReceived, "msg-3", user_id="bob", text="hi", message_id="m3")
    leave = event(h, MemberLeft, "leave-bob", user_id="bob")
    for ev in (join, msg, checkin, other, leave):
        await h.feed(ev)
        await h.feed(ev)  # the platform retries: same dedup key, no second effect
    day = (await stats(h))[TODAY]
    assert day["joins"] == 1 and day["leaves"] == 1
    assert day["messages"] == 3
    assert day["checkins"] == 1
    assert day["active_members"] == 2  # alice (twice) and bob
    assert day["members"] == 1  # alice joined; bob spoke, then left


async def test_days_are_cut_at_midnight_in_shanghai(make_harness: MakeHarness) -> None:
    # 23:58 in Shanghai is 15:58 UTC on the same date; 00:02 is still 16:02 UTC on 11-18
    h = await make_harness(clock=FakeClock(datetime(2026, 11, 18, 15, 58, tzinfo=UTC)))
    await h.join("alice")
    await h.say("alice", "晚安")
    await h.say("bob", "还没睡")
    await h.advance(minutes=4)
    await h.say("alice", "早")
    await h.join("carol")
    await h.leave("carol")
    days = await stats(h)
    assert list(days) == ["2026-11-18", "2026-11-19"]  # the 17th: before the bot's first start
    wed, thu = days["2026-11-18"], days["2026-11-19"]
    assert (wed["messages"], wed["active_members"], wed["joins"], wed["leaves"]) == (2, 2, 1, 0)
    assert (thu["messages"], thu["active_members"], thu["joins"], thu["leaves"]) == (1, 1, 1, 1)
    assert wed["members"] == 2 and thu["members"] == 2


async def test_members_carry_forward_and_active_is_distinct(make_harness: MakeHarness) -> None:
    h = await make_harness()
    for u in ("a", "b", "c"):
        await h.join(u)
    for _ in range(3):
        await h.say("a", "刷屏")
    await h.advance(days=1)
    await h.leave("b")
    await h.say("c", "/签到")
    await h.advance(days=1)
    days = await stats(h, days=4)  # three of them: the bot first started on the first
    assert [d["members"] for d in days.values()] == [3, 2, 2]
    assert [d["messages"] for d in days.values()] == [3, 1, 0]
    assert [d["active_members"] for d in days.values()] == [1, 1, 0]
    assert [d["checkins"] for d in days.values()] == [0, 1, 0]
    assert (await stats(h, group="g2"))[TODAY]["messages"] == 0


class TickingClock(FakeClock):
    """Time moves a little at every reading, as a real clock does within one event."""

    def now(self) -> datetime:
        self.advance(timedelta(microseconds=10))
        return super().now()


async def test_a_first_speaker_moves_the_member_count(make_harness: MakeHarness) -> None:
    h = await make_harness(clock=TickingClock())
    await h.join("carol")
    await h.advance(days=1)
    await h.say("bob", "我一直在群里，只是没说过话")  # never seen joining
    await h.say("bob", "再说一句")
    await h.advance(days=1)
    assert [d["members"] for d in (await stats(h)).values()] == [1, 2, 2]


async def test_programme_posts_and_engagement(make_harness: MakeHarness) -> None:
    slots = {
        "programme": {
            "slots": [
                {
                    "id": "benefit",
                    "days": ["wed"],
                    "time": "10:30",
                    "theme": "福利日",
                    "content": "会员福利日开始啦",
                    "targets": ["g1"],
                },
            ]
        }
    }
    h = await make_harness(slots)
    await h.say("early", "还没开始吗")  # before the post: not engagement
    await h.advance(minutes=31)
    await tick(h.bot)
    await h.bot.drain()
    assert any("会员福利日开始啦" in line for line in h.lines)
    await h.advance(minutes=10)
    await h.say("alice", "来了")
    await h.say("alice", "还有吗")  # engaged once per post
    await h.say("bob", "抢！")
    await h.advance(minutes=30)
    await h.say("late", "错过了")  # 40 minutes after the post
    day = (await stats(h, days=1))[TODAY]
    assert (day["posts_sent"], day["posts_failed"], day["post_engagement"]) == (1, 0, 2)


async def test_engagement_in_one_batch_of_several_groups(make_harness: MakeHarness) -> None:
    """A batch reads the recent posts of all its groups at once (``Counters.preload``) and
    counts what one event at a time counts: engaged once per post and member, in the post's
    group only, within the window."""
    slot = {"days": ["wed"], "time": "10:30", "theme": "福利日", "content": "福利日开始啦"}
    cfg = {"programme": {"slots": [{"id": "benefit", **slot, "targets": ["g1"]}]}}
    h = await make_harness(cfg)
    await h.advance(minutes=31)
    await tick(h.bot)
    await h.bot.drain()
    await h.advance(minutes=10)
    said = [("alice", "g1"), ("alice", "g1"), ("bob", "g1"), ("carol", "g2")]
    for i, (user, group) in enumerate(said):
        ev = event(h, MessageReceived, f"b-{i}", user_id=user, text="来了", message_id=f"b{i}")
        await h.bot.inbox.submit(dataclasses.replace(ev, group_id=group))
    assert await h.bot.dispatcher.run_once() == len(said)  # one batch
    await h.advance(minutes=30)
    await h.say("late", "错过了")  # 40 minutes after the post
    day = (await stats(h, days=1))[TODAY]
    assert (day["posts_sent"], day["post_engagement"]) == (1, 2)
    assert (await stats(h, days=1, group="g2"))[TODAY]["post_engagement"] == 0


async def test_valid_invites_counted_on_the_day_they_qualify(make_harness: MakeHarness) -> None:
    h = await make_harness({"referral": {"qualify_days": 2, "deduct_days": 7}})
    await h.join("newbie", inviter="alice")
    await h.join("other", inviter="alice")
    await h.advance(days=2, hours=1)
    await h.leave("other")  # left before qualifying: never valid
    await h.feed(
        Scheduled(
            dedup_key=f"settle-{uuid.uuid4().hex}",
            platform="internal",
            group_id=None,
            occurred_at=h.clock.now(),
            job="referral.settle",
        )
    )
    days = await stats(h, days=3)
    assert [d["valid_invites"] for d in days.values()] == [0, 0, 1]
    assert list(days)[-1] == "2026-11-20"


async def test_stats_api_json_csv_and_bad_input(
    make_harness: MakeHarness, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    h = await make_harness()
    await h.join("alice", name="=HYPERLINK(1)")
    await h.say("alice", "你好", name="=HYPERLINK(1)")
    client = await aiohttp_client(create_app(h.bot, manage=False))
    r = await client.get("/api/groups/g1/stats?days=7", headers=AUTH)
    assert r.status == 200
    body = await r.json()
    # the bot first started today: the days before are absent, not zeros
    assert len(body["days"]) == 1 and body["days"][-1]["date"] == TODAY
    last = body["days"][-1]
    assert {k: last[k] for k in ("joins", "leaves", "messages", "active_members", "members")} == {
        "joins": 1,
        "leaves": 0,
        "messages": 1,
        "active_members": 1,
        "members": 1,
    }
    assert set(last) >= {
        "date",
        "joins",
        "leaves",
        "messages",
        "active_members",
        "checkins",
        "members",
    }
    r = await client.get("/api/groups/g1/stats?days=7&format=csv", headers=AUTH)
    assert r.status == 200 and r.content_type == "text/csv"
    lines = (await r.text()).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("date,members,joins,leaves,messages,active_members,checkins")
    assert lines[-1].startswith(f"{TODAY},1,1,0,1,1,0") and len(lines) == 2
    board = await client.get("/api/groups/g1/leaderboard?board=checkin&format=csv", headers=AUTH)
    assert board.status == 200 and (await board.text()).lstrip("\ufeff").startswith("rank,")
    await h.say("alice", "/签到", name="=HYPERLINK(1)")
    board = await client.get("/api/groups/g1/leaderboard?board=checkin&format=csv", headers=AUTH)
    assert "'=HYPERLINK(1)" in await board.text()  # no formula for the spreadsheet to run
    for bad in ("days=0", "days=367", "days=abc", "days=-1", "format=xml"):
        r = await client.get(f"/api/groups/g1/stats?{bad}", headers=AUTH)
        assert r.status == 400, bad
        assert "error" in await r.json()
    r = await client.get("/api/groups/nope/stats", headers=AUTH)
    assert r.status == 404 and "unknown group" in (await r.json())["error"]
    assert (await client.get("/api/groups/g1/stats")).status == 401
    report = await (await client.get("/api/groups/g1/report?days=1", headers=AUTH)).json()
    assert report["inactive"] == [] and report["vip_candidates"][0]["user_id"] == "alice"
