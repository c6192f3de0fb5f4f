"""Invite counting through the dispatcher, with a controllable clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select

from bot.events import Scheduled
from handlers.app import main
from handlers.referral.ledger import invite_counts
from storage.migrate import stamp
from storage.models_referral import RewardClaim, RewardCode
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
CFG = {
    "referral": {
        "qualify_days": 3,
        "deduct_days": 7,
        "tiers": [{"invites": 1, "reward": "满100减20券"}, {"invites": 3, "reward": "保温杯"}],
    }
}


async def settle(h: Harness) -> list[str]:
    ev = Scheduled(
        dedup_key=f"settle-{uuid.uuid4().hex}",
        platform="internal",
        group_id=None,
        occurred_at=h.clock.now(),
        job="referral.settle",
    )
    return await h.feed(ev)


async def counts(h: Harness, user: str) -> dict[str, int]:
    async with h.bot.db.read() as s:
        return await invite_counts(s, "g1", user)


async def test_invite_stay_three_days_valid_tier_claimed_once(make_harness: MakeHarness) -> None:
    h = await make_harness(CFG)
    await h.join("nina", inviter="amy")
    assert (await counts(h, "amy"))["pending"] == 1
    await h.advance(days=2)
    await settle(h)
    assert (await counts(h, "amy"))["valid"] == 0
    await h.advance(days=1, seconds=1)
    said = await settle(h)
    assert (await counts(h, "amy"))["valid"] == 1
    assert any("获得「满100减20券」" in line for line in said)
    assert "/领奖" in said[0]
    # the pool is empty: the claim waits and admins are told
    claimed = await h.say("amy", "/领奖")
    assert any("正在补货" in line for line in claimed)
    assert any("兑换码已用完" in line for line in claimed)
    assert "暂时没有可领取" in (await h.say("amy", "/领奖"))[0]  # never twice
    async with h.bot.db.read() as s:
        claims = (await s.scalars(select(RewardClaim))).all()
    assert [(c.tier, c.status) for c in claims] == [(1, "pending")]


async def test_codes_arrive_later_and_are_sent_privately(
    make_harness: MakeHarness, tmp_path: Path
) -> None:
    h = await make_harness(CFG)
    await h.join("nina", inviter="amy")
    await h.advance(days=3, seconds=1)
    await settle(h)
    await h.say("amy", "/领奖")
    await stamp(h.bot.db)  # the harness made its schema with create_all
    csv = tmp_path / "codes.csv"
    csv.write_text("tier,code\n1,COUPON-001\n1,COUPON-002\n", encoding="utf-8")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[storage]\nurl = "{h.bot.config.storage.url}"\n'
        '[[referral.tiers]]\ninvites = 1\nreward = "满100减20券"\n'
        '[[referral.tiers]]\ninvites = 3\nreward = "保温杯"\n[[groups]]\nid = "g1"\n',
        encoding="utf-8",
    )
    # a tier the config does not have rejects the whole file, and nothing is stored
    bad = tmp_path / "bad.csv"
    bad.write_text("tier,code\n1,COUPON-009\n5,COUPON-500\n", encoding="utf-8")
    assert await asyncio.to_thread(main, ["rewards", "import", "-c", str(cfg), str(bad)]) == 2
    async with h.bot.db.read() as s:
        assert (await s.scalars(select(RewardCode))).all() == []
    assert await asyncio.to_thread(main, ["rewards", "import", "-c", str(cfg), str(csv)]) == 0
    sent = await h.advance(days=30)  # the CLI stamped its rows with the real clock
    assert sent == ["[私聊 amy] 🤖 🎁 你的奖励「满100减20券」兑换码：COUPON-001"]
    assert not any("COUPON" in line for line in h.lines if line.startswith("[g1]"))
    # a second member claims straight from the pool
    await h.join("olga", inviter="ben")
    await h.advance(days=3, seconds=1)
    await settle(h)
    said = await h.say("ben", "/领奖")
    assert any("COUPON-002" in line and line.startswith("[私聊 ben]") for line in said)
    missing = ["rewards", "import", "-c", str(cfg), str(tmp_path / "missing.csv")]
    assert await asyncio.to_thread(main, missing) == 2


async def test_rejoin_is_fake_and_leaving_rules(make_harness: MakeHarness) -> None:
    h = await make_harness(CFG)
    await h.join("rob", inviter="amy")
    await h.leave("rob")
    assert await counts(h, "amy") == {"valid": 0, "pending": 0, "left": 1, "fake": 0}
    await h.join("rob", inviter="cat")  # a rejoin never counts for anyone
    assert (await counts(h, "cat"))["fake"] == 0 and (await counts(h, "cat"))["pending"] == 0
    await h.join("sue", inviter="cat")
    await h.advance(days=3, seconds=1)
    await settle(h)
    await h.advance(days=2)
    await h.leave("sue")  # day 5: within 7 days of qualifying → deducted
    assert await counts(h, "cat") == {"valid": 0, "pending": 0, "left": 1, "fake": 0}
    await h.join("tim", inviter="cat")
    await h.advance(days=3, seconds=1)
    await settle(h)
    await h.advance(days=8)
    await h.leave("tim")  # long after qualifying: stays valid
    assert (await counts(h, "cat"))["valid"] == 1


async def test_first_seen_rejoin_is_fake(make_harness: MakeHarness) -> None:
    h = await make_harness(CFG)
    await h.say("zoe", "我一直在群里")  # known member, join never seen
    await h.join("zoe", inviter="amy")
    assert (await counts(h, "amy"))["fake"] == 1


@pytest.mark.parametrize("inviter", ["self", "bot"])
async def test_self_and_bot_invites_ignored(make_harness: MakeHarness, inviter: str) -> None:
    h = await make_harness({**CFG, "onebot": {"self_id": "bot"}})
    who = "ivy" if inviter == "self" else "bot"
    await h.join("ivy" if inviter == "self" else "bot", inviter=who if inviter == "self" else "amy")
    assert await counts(h, who if inviter == "self" else "amy") == {
        "valid": 0,
        "pending": 0,
        "left": 0,
        "fake": 0,
    }


async def test_daily_cap_and_unattributed(make_harness: MakeHarness) -> None:
    h = await make_harness({"referral": {"daily_cap": 2}})
    for n in ("a1", "a2", "a3"):
        await h.join(n, inviter="amy")
    await h.join("loner")
    assert (await counts(h, "amy"))["pending"] == 2
    await h.advance(days=1)
    await h.join("a4", inviter="amy")
    assert (await counts(h, "amy"))["pending"] == 3


async def test_admin_tools_and_boards(make_harness: MakeHarness) -> None:
    h = await make_harness(CFG)
    await h.join("nina", inviter="amy")
    await h.join("walkin")
    assert "只有管理员" in (await h.say("amy", "/调整邀请 @amy +5 刷"))[0]
    assert "+2" in (await h.say("gadmin", "/调整邀请 @amy +2 线下活动"))[0]
    assert (await counts(h, "amy"))["valid"] == 2
    assert "撤销" in (await h.say("gadmin", "/撤销调整 @amy"))[0]
    assert (await counts(h, "amy"))["valid"] == 0
    assert "归属给 ben" in (await h.say("gadmin", "/归属 @walkin @ben"))[0]
    assert (await counts(h, "ben"))["pending"] == 1
    assert "已作废" in (await h.say("gadmin", "/作废邀请 @walkin"))[0]
    assert (await counts(h, "ben"))["pending"] == 0
    assert "nina pending" in (await h.say("gadmin", "/邀请记录 @amy"))[0]
    await h.advance(days=3, seconds=1)
    await settle(h)
    mine = (await h.say("amy", "/邀请"))[0]
    assert "有效 1 人" in mine and "再邀请 2 位" in mine and "保温杯" in mine
    board = (await h.say("amy", "/邀请榜"))[0]
    assert "1. amy  1人" in board


async def test_cooldown_private_import_and_api(
    make_harness: MakeHarness, aiohttp_client: AiohttpClient
) -> None:
    from bot.web.app import create_app

    h = await make_harness(
        {"referral": {"cooldown_minutes": 10, "tiers": [{"invites": 1, "reward": "券"}]}}
    )
    await h.join("x1", inviter="amy")
    await h.advance(minutes=5)
    await h.join("x2", inviter="amy")  # inside the cooldown: not credited
    await h.advance(minutes=6)
    await h.join("x3", inviter="amy")
    assert (await counts(h, "amy"))["pending"] == 2
    assert "只有管理员" in (await h.say("amy", "/奖品 导入 1 A", group=None))[0]
    said = await h.say("root", "/奖品 导入 1 CODE-A CODE-B", group=None)
    assert "已导入 2 个兑换码" in said[0] and said[0].startswith("[私聊 root]")
    await h.advance(days=3, seconds=1)
    await settle(h)
    client = await aiohttp_client(create_app(h.bot, manage=False))
    auth = {"Authorization": "Bearer test-api-token"}
    board = await (
        await client.get("/api/groups/g1/leaderboard?board=invites", headers=auth)
    ).json()
    assert board["entries"] == [{"rank": 1, "user_id": "amy", "name": "amy", "value": 2}]
    view = await (await client.get("/api/groups/g1/members/x1", headers=auth)).json()
    assert view["in_group"] is True
