"""Check-ins at dispatch level, with a controllable clock (Asia/Shanghai)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.events import Image, MessageReceived
from storage.models_checkin import Checkin
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
PLAIN = {"checkin": {"streak_bonus": {}, "base_points": 10}}


def shanghai(y: int, mo: int, d: int, h: int, mi: int) -> datetime:
    return (
        datetime(y, mo, d, h - 8, mi, tzinfo=UTC)
        if h >= 8
        else datetime(y, mo, d - 1, h + 16, mi, tzinfo=UTC)
    )


async def count(h: Harness) -> int:
    async with h.bot.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(Checkin)) or 0)


async def test_first_checkin_and_second_try_same_day(make_harness: MakeHarness) -> None:
    h = await make_harness(PLAIN)
    said = await h.say("bob", "/签到")
    assert "签到成功" in said[0] and "第 1 位" in said[0] and "连续 1 天" in said[0]
    again = await h.say("bob", "/打卡")
    assert "已经签到过" in again[0]
    assert await count(h) == 1
    assert "第 2 位" in (await h.say("carol", "/checkin"))[0]


async def test_day_boundary_midnight(make_harness: MakeHarness) -> None:
    h = await make_harness(PLAIN)
    h.clock.set(shanghai(2026, 11, 18, 23, 59))
    assert "签到成功" in (await h.say("bob", "/签到"))[0]
    h.clock.set(shanghai(2026, 11, 19, 0, 1))
    said = await h.say("bob", "/签到")
    assert "签到成功" in said[0] and "连续 2 天" in said[0]


async def test_reset_hour_four_am(make_harness: MakeHarness) -> None:
    h = await make_harness({"checkin": {"reset_hour": 4, "streak_bonus": {}}})
    h.clock.set(shanghai(2026, 11, 18, 10, 0))
    await h.say("bob", "/签到")
    h.clock.set(shanghai(2026, 11, 19, 3, 59))  # still the 18th's check-in day
    assert "已经签到过" in (await h.say("bob", "/签到"))[0]
    h.clock.set(shanghai(2026, 11, 19, 4, 0))
    assert "连续 2 天" in (await h.say("bob", "/签到"))[0]


async def test_wednesday_doubles_points_and_streak_tiers(make_harness: MakeHarness) -> None:
    h = await make_harness(
        {"checkin": {"weekday_multiplier": {"wed": 2}, "streak_bonus": {2: 5}, "base_points": 10}}
    )
    h.clock.set(shanghai(2026, 11, 17, 10, 0))  # Tuesday
    assert "获得 10 积分" in (await h.say("bob", "/签到"))[0]
    h.clock.set(shanghai(2026, 11, 18, 10, 0))  # Wednesday, streak 2: (10 + 5) × 2
    assert "获得 30 积分" in (await h.say("bob", "/签到"))[0]


async def test_streak_break_and_makeup_repair(make_harness: MakeHarness) -> None:
    h = await make_harness({"checkin": {"card_every": 2, "streak_bonus": {}}})
    h.clock.set(shanghai(2026, 11, 14, 9, 0))
    await h.say("bob", "/签到")
    h.clock.set(shanghai(2026, 11, 15, 9, 0))
    said = await h.say("bob", "/签到")
    assert "补签卡 1 张" in said[0]  # a card for the 2-day streak
    h.clock.set(shanghai(2026, 11, 17, 9, 0))  # the 16th was missed
    assert "连续 1 天" in (await h.say("bob", "/签到"))[0]
    bad = await h.say("bob", "/补签 2026-11-01")
    assert "补签失败" in bad[0]
    fixed = await h.say("bob", "/补签 2026-11-16")
    assert "已补签 2026-11-16" in fixed[0] and "连续 4 天" in fixed[0]
    assert "没有补签卡" in (await h.say("bob", "/补签 2026-11-13"))[0]
    h.clock.set(shanghai(2026, 11, 18, 9, 0))
    assert "连续 5 天" in (await h.say("bob", "/签到"))[0]


async def test_fifty_concurrent_checkins_give_exactly_one(make_harness: MakeHarness) -> None:
    h = await make_harness({**PLAIN, "rules": {"flood": {"enabled": False}}})
    events = [
        MessageReceived(
            dedup_key=f"c{uuid.uuid4().hex}",
            platform="console",
            group_id="g1",
            occurred_at=h.clock.now(),
            user_id="bob",
            text="/签到",
            message_id=str(i),
        )
        for i in range(50)
    ]
    await asyncio.gather(*(h.bot.inbox.submit(e) for e in events))
    await h.bot.drain()
    assert await count(h) == 1
    said = "\n".join(h.new_lines())  # replies due together go out merged
    assert said.count("签到成功") == 1
    assert said.count("已经签到过") == 49


async def test_database_refuses_a_second_row_for_the_day(make_harness: MakeHarness) -> None:
    h = await make_harness(PLAIN)
    await h.say("bob", "/签到")
    day = (await _one(h)).day
    with pytest.raises(IntegrityError):
        async with h.bot.db.transaction() as s:
            s.add(Checkin(group_id="g1", user_id="bob", day=day, at=h.clock.now()))


async def _one(h: Harness) -> Checkin:
    async with h.bot.db.read() as s:
        return (await s.scalars(select(Checkin))).one()


async def test_content_proof_and_required_content(make_harness: MakeHarness) -> None:
    h = await make_harness({"checkin": {"require_content": True}})
    assert "需要附上内容" in (await h.say("bob", "/打卡"))[0]
    await h.say("bob", "/打卡 今天走了8000步")
    assert (await _one(h)).content == "今天走了8000步"
    await h.say("carol", "/打卡", images=(Image(url="http://img/x.jpg"),))
    async with h.bot.db.read() as s:
        urls = set((await s.scalars(select(Checkin.image_url))).all())
    assert "http://img/x.jpg" in urls


async def test_bare_word_only_where_enabled(make_harness: MakeHarness) -> None:
    h = await make_harness({"groups": [{"id": "g1", "checkin": {"bare_word": True}}, {"id": "g2"}]})
    assert "签到成功" in (await h.say("bob", "签到", group="g1"))[0]
    assert await h.say("bob", "签到", group="g2") == []


async def test_boards_order_and_staff_exclusion(make_harness: MakeHarness) -> None:
    h = await make_harness(PLAIN)
    for user in ("gadmin", "bob", "carol"):
        await h.say(user, "/签到")
    today = (await h.say("bob", "/签到榜"))[0]
    assert today.index("bob") < today.index("carol") and "gadmin" not in today
    h.clock.set(shanghai(2026, 11, 19, 9, 0))
    await h.say("carol", "/签到")
    total = (await h.say("bob", "/签到榜 总榜"))[0]
    assert total.index("carol") < total.index("bob") and "gadmin" not in total
    streak = (await h.say("bob", "/签到榜 连续"))[0]
    assert "carol  2天" in streak


async def test_admin_grants_cards_and_voids(make_harness: MakeHarness) -> None:
    h = await make_harness(PLAIN)
    await h.say("bob", "/签到")
    assert "只有管理员" in (await h.say("bob", "/补签卡 @bob 2"))[0]
    assert "现有 2 张" in (await h.say("gadmin", "/补签卡 @bob 2"))[0]
    said = await h.say("gadmin", "/撤销签到 @bob 2026-11-18")
    assert "已撤销" in said[0]
    mine = (await h.say("bob", "/我的"))[0]
    assert "累计 0 天" in mine and "补签卡：2 张" in mine
    assert "规则" in (await h.say("gadmin", "/签到设置"))[0]


async def test_disabled_group_does_not_check_in(make_harness: MakeHarness) -> None:
    h = await make_harness(
        {"checkin": {"bare_word": True}, "groups": [{"id": "g1", "checkin": {"enabled": False}}]}
    )
    assert "未开启签到" in (await h.say("bob", "/签到"))[0]
    assert await h.say("bob", "签到") == []
    assert "未开启签到" in (await h.say("bob", "/补签 2026-11-17"))[0]
    assert await count(h) == 0
