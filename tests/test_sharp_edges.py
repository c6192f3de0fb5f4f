"""Edges members and admins hit in the first week: board labels, unknown board names, …"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.events import Scheduled
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
PLAIN = {"checkin": {"streak_bonus": {}, "base_points": 10}, "rules": {"flood": {"enabled": False}}}


async def test_the_board_without_a_word_is_todays_with_points(make_harness: MakeHarness) -> None:
    h = await make_harness(PLAIN)
    await h.say("bob", "/签到")
    board = (await h.say("bob", "/签到榜"))[0]
    assert "今日签到榜" in board and "1. bob  10分" in board and "第" not in board


async def test_an_unknown_board_says_which_boards_exist(make_harness: MakeHarness) -> None:
    h = await make_harness(PLAIN)
    await h.say("bob", "/签到")
    said = (await h.say("bob", "/签到榜 周榜"))[0]
    assert "没有「周榜」这个榜单" in said and "/签到榜 连续" in said and "bob" not in said


async def test_staff_asking_for_the_board_learn_why_they_are_not_on_it(
    make_harness: MakeHarness,
) -> None:
    """``groupbot chat`` with config.example.toml: alice is the demo group's admin and
    ``exclude_staff = true``, so her own check-in never shows on the board."""
    h = await make_harness({**PLAIN, "checkin": {**PLAIN["checkin"], "exclude_staff": True}})
    await h.say("gadmin", "/签到")
    said = (await h.say("gadmin", "/签到榜"))[0]
    assert "还没有人上榜" in said and "管理员和工作人员不上榜" in said
    assert "不上榜" not in (await h.say("bob", "/签到榜"))[0]


async def test_a_claim_from_an_empty_pool_never_says_the_code_was_sent(
    make_harness: MakeHarness,
) -> None:
    h = await make_harness(
        {"referral": {"qualify_days": 3, "tiers": [{"invites": 1, "reward": "券"}]}}
    )
    await h.join("nina", inviter="amy")
    await h.advance(days=3, seconds=1)
    await h.feed(
        Scheduled(
            dedup_key="settle-1",
            platform="internal",
            group_id=None,
            occurred_at=h.clock.now(),
            job="referral.settle",
        )
    )
    said = [line for line in await h.say("amy", "/领奖") if line.startswith("[g1]")]
    assert len(said) == 1 and "正在补货" in said[0] and "已私信发送" not in said[0], said


async def test_help_in_a_group_leaves_out_what_does_not_work_there(
    make_harness: MakeHarness,
) -> None:
    listed = (await make_harness(PLAIN)).say
    said = (await listed("bob", "/帮助"))[0]
    assert "/签到" in said and "/奖品" not in said and "/警告" not in said


async def test_adding_a_programme_slot_speaks_chinese_and_knows_xingqi(
    make_harness: MakeHarness,
) -> None:
    h = await make_harness(PLAIN)
    said = (await h.say("gadmin", "/加节目 星期三 10:00 早安 大家早上好"))[0]
    assert "已添加节目「早安」：星期三 10:00" in said
    said = (await h.say("gadmin", "/加节目 礼拜八 10:00 晚安 晚安"))[0]
    assert "节目格式不对" in said and "星期一" in said
    said = (await h.say("gadmin", "/加节目 周三 25:99 晚安 晚安"))[0]
    assert "HH:MM" in said
    for line in (said, (await h.say("gadmin", "/加节目 周三 10:00 a!b 晚安"))[0]):
        assert "Value error" not in line and "String should" not in line, line
        said = line.split("🤖", 1)[1].replace("HH:MM", "")
        assert not any(c.isascii() and c.isalpha() for c in said), line


async def test_no_makeup_for_a_day_before_the_member_joined(make_harness: MakeHarness) -> None:
    h = await make_harness(PLAIN)
    await h.join("newbie")  # Wednesday 2026-11-18
    assert "现有 2 张" in (await h.say("gadmin", "/补签卡 @newbie 2"))[0]
    await h.advance(days=1)
    said = (await h.say("newbie", "/补签 2026-11-17"))[0]
    assert "补签失败" in said and "还没有入群" in said, said
    assert "已补签 2026-11-18" in (await h.say("newbie", "/补签 2026-11-18"))[0]
