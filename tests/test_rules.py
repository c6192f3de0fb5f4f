"""Group rules: banned words, ads, flood, warnings that expire, shadow mode, exemptions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.config import ConfigError, parse_config
from handlers.moderation.detect import FloodTracker, find_ads
from handlers.moderation.matcher import BannedWords, normalise
from storage.models_moderation import ModerationLog
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
RULES = {"rules": {"banned_words": ["代购", "刷*单"], "warn_limit": 2, "flood": {"enabled": False}}}


def test_normalise_and_banned_words() -> None:
    assert normalise("ＡＢＣ 加 . 微")[0] == "abc加微"
    words = BannedWords.compile(["代购", "刷*单"])
    for text in ("有人代购吗", "代 . 购", "ＤＡＩ代-购", "刷一下单"):
        assert words.match(text) is not None, text
    assert (
        words.match("刷牙了吗，今天买单") is None
        or words.match("刷牙了吗，今天买单").pattern == "刷*单"
    )
    m = words.match("今天 代 购 来了")
    assert m is not None and "代 购" in m.excerpt


def test_ads() -> None:
    kinds = lambda t, a=(): {h.kind for h in find_ads(t, a)}  # noqa: E731
    assert kinds("看这里 https://x.cn/a") == {"url"}
    assert kinds("shop.vip 打折") == {"url"}
    assert kinds("电话 138-1234-5678") == {"phone"}
    assert kinds("加V领券") == {"wechat_id"}
    assert kinds("", ("miniprogram",)) == {"attachment"}
    assert kinds("这个99.9元，V1.2版本，2026-11-18见") == set()


def test_flood_tracker() -> None:
    f = FloodTracker(messages=3, seconds=10, repeats=2)
    assert f.record("g", "u", "a", 0) is None
    assert f.record("g", "u", "a", 1).kind == "repeat"  # type: ignore[union-attr]
    assert f.record("g", "v", "1", 0) is None and f.record("g", "v", "2", 1) is None
    assert f.record("g", "v", "3", 2) is None
    assert f.record("g", "v", "4", 3).kind == "rate"  # type: ignore[union-attr]
    assert f.record("g", "v", "5", 30) is None  # the window moved on


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_matching_never_crashes_and_finds_embedded_words(noise: str) -> None:
    words = BannedWords.compile(["代购", "刷*单"])
    words.match(noise)
    find_ads(noise)
    assert words.match(noise + " 代 购 ") is not None


def test_bad_pattern_is_a_config_error_with_key_path() -> None:
    try:
        parse_config({"rules": {"banned_words": ["ok", "!!!"]}}, environ={})
    except ConfigError as exc:
        assert exc.problems[0].startswith("rules.banned_words[1]:")
    else:
        raise AssertionError("expected a config error")


async def log_rows(h: Harness) -> list[ModerationLog]:
    async with h.bot.db.read() as s:
        return list((await s.scalars(select(ModerationLog).order_by(ModerationLog.id))).all())


async def test_banned_word_warns_then_kicks_and_logs(make_harness: MakeHarness) -> None:
    h = await make_harness(RULES)
    said = await h.say("spam", "专业 代 购 便宜")
    assert any("警告 1/2" in line for line in said)
    assert any("<delete>" in line for line in said)
    assert any(line.startswith("[私聊 gadmin]") and "违禁词" in line for line in said)
    said = await h.say("spam", "ＤＡＩ 代购")
    assert any("<kick>" in line and "spam" in line for line in said)
    rows = await log_rows(h)
    assert {r.action for r in rows} >= {"delete", "kick"} and all(r.rule == "banned" for r in rows)


async def test_admin_and_allowlisted_are_untouched(make_harness: MakeHarness) -> None:
    h = await make_harness(RULES)
    assert await h.say("gadmin", "代购") == []
    assert await h.say("x", "代购", role="owner") == []
    assert "已添加" in (await h.say("gadmin", "/白名单 添加 @vip"))[0]
    assert await h.say("vip", "代购") == []
    assert await log_rows(h) == []


async def test_shadow_mode_only_logs_and_reports(make_harness: MakeHarness) -> None:
    h = await make_harness({"rules": {**RULES["rules"], "banned": {"shadow": True}}})
    said = await h.say("spam", "代购")
    assert all(line.startswith("[私聊") and "试运行" in line for line in said)
    rows = await log_rows(h)
    assert len(rows) == 1 and rows[0].shadow


async def test_warnings_expire_and_can_be_revoked(make_harness: MakeHarness) -> None:
    h = await make_harness({"rules": {**RULES["rules"], "warning_days": 7}})
    await h.say("spam", "代购")
    await h.advance(days=8)
    said = await h.say("spam", "代购")
    assert any("警告 1/2" in line for line in said)  # the old one expired
    assert "只有管理员" in (await h.say("spam", "/警告 @spam 自己"))[0]
    said = await h.say("gadmin", "/警告 @spam 发广告")
    assert any("<kick>" in line for line in said)
    assert "已撤销" in (await h.say("gadmin", "/撤销警告 @spam"))[0]
    record = (await h.say("gadmin", "/警告记录 @spam"))[0]
    assert "已过期" in record and "已撤销" in record and "生效中" in record


async def test_ads_flood_and_rules_text(make_harness: MakeHarness) -> None:
    h = await make_harness(
        {"rules": {"flood_messages": 3, "flood_seconds": 10, "ads": {"actions": ["delete"]}}}
    )
    said = await h.say("ad", "加V 领取福利")
    assert any("<delete>" in line for line in said) and not any("警告" in line for line in said)
    for i in range(3):
        assert await h.say("chatty", f"消息{i}") == []
    assert any("刷屏" in line for line in await h.say("chatty", "消息3"))
    assert "设置" not in (await h.say("gadmin", "/设置规则 1. 禁止广告\n2. 友善"))[0]
    assert "1. 禁止广告" in (await h.say("bob", "/规则"))[0]
