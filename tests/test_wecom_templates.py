"""WeCom 入群欢迎语 templates follow ``[welcome]``/``[rules]``; unused join codes are cleaned up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from handlers.wecom_sync import joincodes, welcome_template, worker
from storage.models_wecom import WeComJoinWay, WeComWelcomeTemplate
from tests.fakes.clock import FakeClock
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness, start_harness

CHAT = "wrChat1"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as f:
        f.customer.add_chat(CHAT)
        f.customer.add_chat("wrChat2")
        yield f


def config(fake: FakeWeCom, rules_text: str, second: dict[str, Any] | None = None) -> dict:
    groups: list[dict[str, Any]] = [{"id": CHAT, "platform": "wecom", "name": "一群"}]
    if second is not None:
        groups.append({"id": "wrChat2", "platform": "wecom", "name": "二群", **second})
    return {
        "wecom": {"corp_id": "wwcorp", "secret": "corp-secret", "api_base": fake.url},
        "rules": {"text": rules_text},
        "groups": groups,
    }


async def templates(h: Harness) -> dict[str, str]:
    async with h.bot.db.read() as s:
        rows = (await s.scalars(select(WeComWelcomeTemplate))).all()
        return {r.scope: r.template_id for r in rows}


async def test_templates_follow_the_config_across_restarts(fake: FakeWeCom, tmp_path: Path) -> None:
    clock = FakeClock()
    second = {"welcome": {"enabled": True}, "rules": {"text": "二群的规矩"}}
    h = await start_harness(tmp_path, config(fake, "不发广告", second), clock=clock)
    done = await welcome_template.sync_templates(h.bot, worker.client(h.bot))
    assert done == {"default": "added", "wrChat2": "added"}
    ids = await templates(h)
    default = fake.customer.templates[ids["default"]]["text"]["content"]
    assert "%NICKNAME%" in default and "不发广告" in default
    assert "二群的规矩" in fake.customer.templates[ids["wrChat2"]]["text"]["content"]
    assert await welcome_template.sync_templates(h.bot, worker.client(h.bot)) == {}
    await h.bot.stop()
    # restart with a new rules text and without the second group's override
    h = await start_harness(tmp_path, config(fake, "文明交流"), clock=clock)
    done = await welcome_template.sync_templates(h.bot, worker.client(h.bot))
    assert done == {"default": "edited", "wrChat2": "deleted"}
    assert await templates(h) == {"default": ids["default"]}, "the same template is edited"
    assert "文明交流" in fake.customer.templates[ids["default"]]["text"]["content"]
    assert ids["wrChat2"] not in fake.customer.templates
    await h.bot.stop()


async def test_unused_join_codes_are_deleted_at_wecom(
    fake: FakeWeCom, make_harness: Callable[..., Awaitable[Harness]]
) -> None:
    h = await make_harness(config(fake, "x"))
    await h.say("u1", "/邀请码", CHAT)
    await h.say("u2", "/邀请码", CHAT)
    await worker.run_once(h.bot)
    assert len(fake.customer.join_ways) == 2
    h.clock.advance(timedelta(days=60))
    async with h.bot.db.read() as s:
        code = (await s.get(WeComJoinWay, (CHAT, "u2"))).state
    await h.join("newbie", CHAT, state=code)  # u2's code is in use
    h.clock.advance(timedelta(days=40))
    removed = await joincodes.cleanup(h.bot, worker.client(h.bot))
    assert removed == 1
    async with h.bot.db.read() as s:
        left = [r.user_id for r in (await s.scalars(select(WeComJoinWay))).all()]
    assert left == ["u2"] and len(fake.customer.join_ways) == 1
    said = await h.say("u1", "/邀请码", CHAT)  # asking again makes a new one
    assert any("正在" in line for line in said)
    await worker.run_once(h.bot)
    assert len(fake.customer.join_ways) == 2


async def test_join_code_failure_is_told_and_can_be_retried(
    fake: FakeWeCom, make_harness: Callable[..., Awaitable[Harness]]
) -> None:
    h = await make_harness(config(fake, "x"))
    fake.customer.errcodes["groupchat/add_join_way"] = [41001]
    await h.say("u1", "/邀请码", CHAT)
    await worker.run_once(h.bot)
    said = await h.advance(seconds=1)
    assert any("生成失败" in line for line in said)
    await h.say("u1", "/邀请码", CHAT)
    await worker.run_once(h.bot)
    said = await h.advance(seconds=1)
    assert any("wwpic" in line for line in said)


async def test_plain_referral_code_off_wecom(
    make_harness: Callable[..., Awaitable[Harness]],
) -> None:
    h = await make_harness()
    said = await h.say("alice", "/邀请码")
    assert any("邀请码：r" in line for line in said)


def test_a_welcome_template_over_3000_bytes_is_a_config_error(fake: FakeWeCom) -> None:
    """WeCom takes at most 3,000 bytes of welcome text: the config names the rules text to shorten
    (the default's or a group's own) instead of letting ``group_welcome_template/add`` fail."""
    from bot.config import ConfigError, parse_config
    from handlers import FEATURES

    fits = "不发广告。" * 150  # 2,250 bytes of rules: the template stays under 3,000
    parse_config(config(fake, fits), FEATURES, environ={})
    too_long = "不发广告。" * 200  # 3,000 bytes of rules alone
    with pytest.raises(ConfigError) as exc:
        parse_config(config(fake, too_long), FEATURES, environ={})
    assert any(p.startswith("rules.text:") and "3,000" in p for p in exc.value.problems)
    second = {"welcome": {"enabled": True}, "rules": {"text": too_long}}
    with pytest.raises(ConfigError) as exc:
        parse_config(config(fake, "不发广告", second), FEATURES, environ={})
    assert [p.split(":")[0] for p in exc.value.problems] == ["groups[1].rules.text"]
    off = config(fake, too_long)
    off["wecom"]["sync"] = {"welcome_template": False}
    parse_config(off, FEATURES, environ={})  # no template is made: nothing to refuse
