"""Keyword auto-replies through the real inbox, dispatcher and outbox: rules from config and
chat, the most specific rule, cooldowns that survive a restart and a re-run, active hours,
commands never matched, config errors with key paths."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.config import ConfigError, parse_config
from bot.events import MessageReceived
from bot.runtime import Bot
from handlers import FEATURES
from handlers.autoreply.chatrules import KEEP_S
from storage.models import InboxEvent
from storage.models_autoreply import AutoreplyAnswer, AutoreplyRule
from tests.harness import BASE, Harness, merge

MakeHarness = Callable[..., Awaitable[Harness]]
COUPON = {"keywords": ["优惠券", "领券"], "reply": "{name}，优惠券在小程序领取（{group}）"}


def cfg(*rules: dict[str, Any], **section: Any) -> dict[str, Any]:
    return {"autoreply": {"rules": list(rules), **section}}


async def test_a_rule_answers_once_per_cooldown(make_harness: MakeHarness) -> None:
    h = await make_harness(cfg({**COUPON, "targets": ["tag:t"]}, cooldown_s=60))
    said = await h.say("alice", "优惠券在哪领？")
    assert said == ["[g1] 🤖 @alice alice，优惠券在小程序领取（测试群）"]
    for i in range(4):  # (different members: the same text repeated would be a flood)
        assert await h.say(f"m{i}", "领券 怎么领") == []
    assert await h.advance(seconds=61) == []
    assert len(await h.say("carol", "ＹＯＵ惠券？ 优 惠 券")) == 1
    # the window is per group: g2 has its own
    assert len(await h.say("dave", "优惠券在哪领", group="g2")) == 1


async def test_targets_and_other_groups(make_harness: MakeHarness) -> None:
    h = await make_harness(cfg({**COUPON, "targets": ["g2"]}))
    assert await h.say("alice", "优惠券在哪领") == []
    assert len(await h.say("alice", "优惠券在哪领", group="g2")) == 1


async def test_the_most_specific_rule_wins(make_harness: MakeHarness) -> None:
    h = await make_harness(
        cfg(
            {"id": "short", "keywords": ["券"], "reply": "short"},
            {"id": "long", "keywords": ["优惠券"], "reply": "long"},
            {"id": "both", "keywords": ["优惠券", "过期"], "match": "contains", "reply": "both"},
            {"id": "whole", "keywords": ["优惠券"], "match": "exact", "reply": "whole"},
            {"id": "tag", "keywords": ["会员日"], "reply": "tag", "targets": ["tag:t"]},
            {"id": "mine", "keywords": ["会员日"], "reply": "mine", "targets": ["g1"]},
            cooldown_s=0,
            faq=[{"questions": ["会员日是哪天"], "answer": "faq"}],
        )
    )
    assert await h.say("a", "优 惠 券") == ["[g1] 🤖 @a whole"]
    assert await h.say("a", "我的优惠券过期了") == ["[g1] 🤖 @a both"]
    assert await h.say("a", "优惠券呢") == ["[g1] 🤖 @a long"]
    assert await h.say("a", "有券吗") == ["[g1] 🤖 @a short"]
    assert await h.say("a", "会员日有什么") == ["[g1] 🤖 @a mine"]
    assert await h.say("a", "会员日是哪天") == ["[g1] 🤖 @a faq"]  # the longer text matched


async def test_active_hours_and_dates(make_harness: MakeHarness) -> None:
    flash = {"keywords": ["秒杀"], "reply": "秒杀 20:00 开始", "hours": "20:00-22:00"}
    ended = {"keywords": ["双11"], "reply": "双11", "start": "2026-11-01", "end": "2026-11-11"}
    h = await make_harness(cfg(flash, ended))  # Wednesday 10:00, 2026-11-18
    assert await h.say("a", "秒杀几点开始") == []
    assert await h.say("a", "双11 还有吗") == []
    await h.advance(hours=10, minutes=30)
    assert await h.say("a", "秒杀几点开始") == ["[g1] 🤖 @a 秒杀 20:00 开始"]


async def test_commands_are_never_matched(make_harness: MakeHarness) -> None:
    rule = {"keywords": ["签到", "优惠券"], "reply": "不该出现"}
    h = await make_harness(cfg(rule, cooldown_s=0))
    said = await h.say("alice", "/签到")
    assert len(said) == 1 and "签到成功" in said[0]
    said = await h.say("alice", "/优惠券")
    assert said == ["[g1] 🤖 没有 /优惠券 这个指令，发送 /帮助 查看可用指令。"]
    assert await h.say("alice", "／签到 优惠券") and "不该出现" not in h.lines[-1]


async def test_banned_words_stop_the_message_first(make_harness: MakeHarness) -> None:
    h = await make_harness({**cfg(COUPON), "rules": {"banned_words": ["代购"]}})
    said = await h.say("spammer", "代购优惠券")
    assert said and all("优惠券在小程序" not in line for line in said)
    assert any("违禁词" in line or "警告" in line for line in said)


async def test_templates_with_live_figures(make_harness: MakeHarness) -> None:
    rule = {"keywords": ["几个人"], "reply": "{members} 人在群，今天 {checkins_today} 人签到"}
    h = await make_harness(cfg(rule, cooldown_s=0))
    await h.say("alice", "/签到")
    await h.say("bob", "/签到")
    assert await h.say("carol", "群里几个人") == ["[g1] 🤖 @carol 3 人在群，今天 2 人签到"]


async def test_an_image_follows_the_text(make_harness: MakeHarness, tmp_path: Path) -> None:
    pic = tmp_path / "coupon.png"
    pic.write_bytes(b"\x89PNG fake")
    h = await make_harness(cfg({**COUPON, "image": str(pic)}, address=False))
    said = await h.say("alice", "优惠券")
    assert said[0] == "[g1] 🤖 alice，优惠券在小程序领取（测试群）"
    assert said[1] == f"[g1] 🤖 <image> {{'image': '{pic}'}}"


async def test_a_rerun_never_answers_twice(make_harness: MakeHarness) -> None:
    """The event is run again after its cooldown passed (as a crashed batch would be): the
    unique answer key keeps it to one answer."""
    h = await make_harness(cfg(COUPON, cooldown_s=5))
    assert len(await h.say("alice", "优惠券")) == 1
    async with h.bot.db.transaction() as s:
        await s.execute(update(InboxEvent).values(status="queued", attempts=0))
    assert await h.advance(seconds=10) == []
    async with h.bot.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(AutoreplyAnswer)) == 1


async def test_a_redelivered_event_is_answered_once(make_harness: MakeHarness) -> None:
    h = await make_harness(cfg(COUPON, cooldown_s=0))
    ev = MessageReceived(
        dedup_key=f"test:{uuid.uuid4().hex}",
        platform="console",
        group_id="g1",
        occurred_at=h.clock.now(),
        user_id="alice",
        user_name="alice",
        text="优惠券",
        message_id="m1",
    )
    assert len(await h.feed(ev)) == 1
    assert await h.feed(ev) == []


async def test_the_cooldown_survives_a_restart(make_harness: MakeHarness) -> None:
    h = await make_harness(cfg(COUPON, cooldown_s=60))
    assert len(await h.say("alice", "优惠券")) == 1
    await h.bot.stop()
    again = Bot(h.bot.config, h.clock, workers=False, migrate=False, console_sink=lambda _: None)
    await again.start()
    try:
        h2 = Harness(again, h.clock)
        assert await h2.say("bob", "优惠券") == []
        assert len(await h2.advance(seconds=61) + await h2.say("bob", "优惠券")) == 1
    finally:
        await again.stop()


async def test_chat_rules(make_harness: MakeHarness) -> None:
    h = await make_harness(cfg(COUPON))
    said = await h.say("gadmin", "/加回复 发货|快递 48 小时内发货，{name} 请耐心等待")
    assert said == ["[g1] 🤖 ✅ 已设置关键词回复 #1（包含：发货、快递）"]
    assert await h.say("bob", "快递到哪了") == ["[g1] 🤖 @bob 48 小时内发货，bob 请耐心等待"]
    await h.say("gadmin", "/加回复 发货|快递 改了")
    await h.advance(seconds=61)
    assert await h.say("bob", "什么时候发货") == ["[g1] 🤖 @bob 改了"]
    listing = (await h.say("gadmin", "/回复列表"))[0]
    assert "优惠券 [包含] 优惠券、领券（今日 0 次）" in listing
    assert "#1 [包含] 发货、快递（今日 2 次）" in listing
    assert await h.say("gadmin", "/删回复 #1") == ["[g1] 🤖 ✅ 已删除关键词回复 #1"]
    await h.advance(seconds=61)
    assert await h.say("bob", "什么时候发货") == []
    said = await h.say("gadmin", "/删回复 优惠券")
    assert "配置文件里的回复（优惠券）" in said[0]


async def test_chat_rule_input_is_checked(make_harness: MakeHarness) -> None:
    h = await make_harness(cfg(max_chat_rules=1))
    assert "用法" in (await h.say("gadmin", "/加回复 只有关键词"))[0]
    assert "需要包含文字或数字" in (await h.say("gadmin", "/加回复 ？？ 回复"))[0]
    said = await h.say("gadmin", "/加回复 发货 {name.__class__}")
    assert "回复内容无法使用" in said[0] and "{checkins_today}" in said[0]
    said = await h.say("gadmin", "/加回复 发货 {x:>99999}")
    assert "回复内容无法使用" in said[0]
    refused = await h.say("alice", "/加回复 发货 回复")
    assert refused == ["[g1] 🤖 抱歉，/加回复 只有管理员可以使用。"]
    await h.say("gadmin", "/加回复 发货 回复")
    assert "最多 1 条" in (await h.say("gadmin", "/加回复 快递 回复"))[0]
    async with h.bot.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(AutoreplyRule)) == 1


def problems(section: dict[str, Any]) -> list[str]:
    try:
        parse_config(merge(BASE, {"autoreply": section}), FEATURES, environ={})
    except ConfigError as exc:
        return exc.problems
    return []


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"rules": [{"keywords": ["!!"], "reply": "x"}]}, "autoreply.rules[0].keywords[0]: "),
        ({"rules": [{"keywords": ["a"], "reply": "{x}"}]}, "autoreply.rules[0].reply: "),
        (
            {"rules": [{"keywords": ["a"], "reply": "x", "hours": "8-9"}]},
            "autoreply.rules[0].hours",
        ),
        ({"rules": [{"keywords": ["a"], "reply": "x", "match": "re"}]}, "autoreply.rules[0].match"),
        (
            {"rules": [{"keywords": ["a"], "reply": "x", "image": "a.png"}]},
            "autoreply.rules[0].image",
        ),
        ({"faq": [{"questions": [], "answer": "x"}]}, "autoreply.faq[0].questions: "),
        ({"rules": [{"keywords": ["a"], "reply": "x"}] * 2}, "autoreply: Value error, rules[1]"),
        ({"ai": {"enabled": True}}, "autoreply.ai: Value error, enabled needs base_url"),
        ({"ai": {"base_url": "ftp://x"}}, "autoreply.ai.base_url: "),
        ({"cooldown_s": -1}, "autoreply.cooldown_s: "),
    ],
)
def test_config_errors_name_the_key(section: dict[str, Any], expected: str) -> None:
    found = problems(section)
    assert found and found[0].startswith(expected), found


def test_the_budget_is_shared() -> None:
    data = merge(BASE, {"autoreply": {"ai": {"daily_budget": 5}}})
    data["groups"][0]["autoreply"] = {"ai": {"daily_budget": 50}}
    with pytest.raises(ConfigError) as exc:
        parse_config(data, FEATURES, environ={})
    assert exc.value.problems[0].startswith("groups[0].autoreply.ai.daily_budget: ")


async def test_another_instance_sees_chat_rules_within_seconds(make_harness: MakeHarness) -> None:
    """Two bots on one database: a rule added on one answers on the other once that one's
    copy of the group's chat rules is older than ``KEEP_S`` (here at once on the first)."""
    a = await make_harness(cfg(cooldown_s=0))
    other = Bot(a.bot.config, a.clock, workers=False, migrate=False, console_sink=lambda _: None)
    await other.start()
    try:
        b = Harness(other, a.clock)
        assert await a.say("m1", "快递呢") == []  # a now keeps g1's (empty) chat rules
        assert await b.say("gadmin", "/加回复 快递 顺丰") == [
            "[g1] 🤖 ✅ 已设置关键词回复 #1（包含：快递）"
        ]
        assert await b.say("m2", "快递呢") == ["[g1] 🤖 @m2 顺丰"]
        assert await a.say("m3", "快递到了吗") == []  # a still answers from its copy
        await a.advance(seconds=KEEP_S + 1)
        assert await a.say("m4", "快递呢") == ["[g1] 🤖 @m4 顺丰"]
    finally:
        await other.stop()
