"""The optional AI answer against a local fake endpoint: grounded JSON messages, the answer
through the outbox once, a timeout or error logged with no reply, the daily budget and its
admin notice, and nothing asked when it is off or a rule answered."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.events import MessageReceived
from handlers.autoreply import run_pending
from storage.models_autoreply import AutoreplyAiRequest, AutoreplyAiUsage
from tests.fakes.chat_model import FakeChatModel
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
FAQ = [{"questions": ["会员日是哪天"], "answer": "每周三是会员日"}]


@pytest.fixture
async def model() -> AsyncIterator[FakeChatModel]:
    async with FakeChatModel() as m:
        yield m


def ai_config(model: FakeChatModel, **ai: Any) -> dict[str, Any]:
    section = {"enabled": True, "base_url": model.base_url, "model": "m1", "api_key": "k-1"}
    return {"autoreply": {"faq": FAQ, "ai": {**section, **ai}}}


async def ask(h: Harness, text: str, user: str = "alice", to_bot: bool = True) -> list[str]:
    """A member's message (``to_bot``: it @-mentions the bot), then one worker round."""
    ev = MessageReceived(
        dedup_key=f"test:{uuid.uuid4().hex}",
        platform="console",
        group_id="g1",
        occurred_at=h.clock.now(),
        user_id=user,
        user_name=user,
        text=text,
        message_id=uuid.uuid4().hex[:8],
        to_bot=to_bot,
    )
    said = await h.feed(ev)
    await run_pending(h.bot)
    await h.bot.drain()
    return said + h.new_lines()


async def requests(h: Harness) -> list[AutoreplyAiRequest]:
    async with h.bot.db.read() as s:
        return list((await s.scalars(select(AutoreplyAiRequest))).all())


async def test_an_unanswered_question_gets_the_models_answer(
    make_harness: MakeHarness, model: FakeChatModel
) -> None:
    h = await make_harness({**ai_config(model), "rules": {"text": "不发广告"}})
    said = await ask(h, "积分可以换什么？")
    assert said == ["[g1] 🤖 @alice 优惠券在小程序「会员中心」领取哦～"]
    body = model.requests[0]
    assert body["model"] == "m1" and body["max_tokens"] == 300
    system, user = body["messages"]
    assert system["role"] == "system" and "每周三是会员日" in system["content"]
    assert "不发广告" in system["content"]
    assert user == {"role": "user", "content": "积分可以换什么？"}
    assert model.auth == ["Bearer k-1"]
    # handled: another round asks nothing, nothing is said twice
    assert await run_pending(h.bot) == 0
    await h.bot.drain()
    assert h.new_lines() == [] and len(model.requests) == 1


async def test_who_gets_asked(make_harness: MakeHarness, model: FakeChatModel) -> None:
    h = await make_harness(ai_config(model))
    assert await ask(h, "会员日是哪天？") == ["[g1] 🤖 @alice 每周三是会员日"]  # the FAQ
    assert await ask(h, "积分怎么用？", to_bot=False) == []  # no @, group not opted in
    assert await ask(h, "/积分") != [] and model.requests == []  # a command
    h2 = await make_harness(
        {**ai_config(model, questions=True), "groups": [{"id": "g1", "admins": ["gadmin"]}]}
    )
    assert await ask(h2, "今天天气不错", to_bot=False) == []  # not a question
    assert len(await ask(h2, "积分怎么用？", to_bot=False)) == 1
    assert model.questions() == ["积分怎么用？"]


async def test_off_by_default(make_harness: MakeHarness, model: FakeChatModel) -> None:
    h = await make_harness({"autoreply": {"ai": {"base_url": model.base_url, "model": "m"}}})
    assert await ask(h, "积分怎么用？") == []
    assert model.requests == [] and await requests(h) == []


async def test_a_timeout_is_logged_and_nothing_is_said(
    make_harness: MakeHarness, model: FakeChatModel, caplog: pytest.LogCaptureFixture
) -> None:
    h = await make_harness(ai_config(model, timeout_s=0.2))
    gate = model.hold()
    with caplog.at_level(logging.WARNING, "groupbot.autoreply"):
        assert await ask(h, "积分怎么用？") == []
    gate.set()
    (req,) = await requests(h)
    assert req.status == "failed" and "did not answer within 0.2 s" in req.reason
    assert any(
        f"no AI answer for request {req.id} (group g1" in r.getMessage()
        and "did not answer within 0.2 s; nothing is posted" in r.getMessage()
        for r in caplog.records
    )
    await h.bot.drain()
    assert h.new_lines() == []


async def test_an_error_is_logged_and_nothing_is_said(
    make_harness: MakeHarness, model: FakeChatModel, caplog: pytest.LogCaptureFixture
) -> None:
    h = await make_harness(ai_config(model))
    model.status = 500
    with caplog.at_level(logging.WARNING, "groupbot.autoreply"):
        assert await ask(h, "积分怎么用？") == []
    (req,) = await requests(h)
    assert req.status == "failed" and "HTTP 500" in req.reason
    assert any("HTTP 500; nothing is posted" in r.getMessage() for r in caplog.records)


async def test_the_budget_stops_calls_and_tells_the_admins_once(
    make_harness: MakeHarness, model: FakeChatModel
) -> None:
    h = await make_harness(ai_config(model, daily_budget=2))
    for i in range(2):
        assert len(await ask(h, f"问题{i}？")) == 1
    said = await ask(h, "问题3？")
    assert len(model.requests) == 2
    notices = [line for line in said if "AI 回答次数（2 次）已用完" in line]
    assert notices and all("私聊" in line for line in notices)  # to gadmin and root
    assert [line for line in said if "问题" in line or "会员中心" in line] == []
    assert await ask(h, "问题4？") == []  # told once a day
    statuses = [r.status for r in await requests(h)]
    assert statuses == ["answered", "answered", "budget", "budget"]
    await h.advance(days=1)
    assert len(await ask(h, "问题5？")) == 1 and len(model.requests) == 3
    async with h.bot.db.read() as s:
        assert [u.calls for u in (await s.scalars(select(AutoreplyAiUsage))).all()] == [2, 1]


async def test_a_matched_rule_asks_no_model(
    make_harness: MakeHarness, model: FakeChatModel
) -> None:
    extra = ai_config(model)
    extra["autoreply"]["rules"] = [{"keywords": ["积分"], "reply": "积分规则见群公告"}]
    h = await make_harness(extra)
    assert await ask(h, "积分怎么用？") == ["[g1] 🤖 @alice 积分规则见群公告"]
    assert await ask(h, "积分怎么用？", user="bob") == []  # in its cooldown: silent
    assert model.requests == [] and await requests(h) == []


async def test_ended_requests_are_pruned_after_a_week(
    make_harness: MakeHarness, model: FakeChatModel
) -> None:
    h = await make_harness(ai_config(model))
    model.status = 500
    await ask(h, "积分怎么用？")  # ends failed
    ev = MessageReceived(
        dedup_key="test:pending",
        platform="console",
        group_id="g1",
        occurred_at=h.clock.now(),
        user_id="bob",
        text="还在等？",
        message_id="p1",
        to_bot=True,
    )
    await h.feed(ev)  # no worker round: stays pending
    await h.advance(days=6)
    await h.run_jobs()
    assert sorted(r.status for r in await requests(h)) == ["failed", "pending"]
    await h.advance(days=2)
    await h.run_jobs()
    assert [r.status for r in await requests(h)] == ["pending"]
