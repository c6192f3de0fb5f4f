"""红包激活 over the real paths: the daily job plans a quiet group and leaves a busy one
alone, the owner's reminder goes out once (a re-run, a redelivered event and a restart add
nothing), the effect is the hour after against the same hour a week before as seeded, and
the console's skip works for an operator and is refused to a viewer."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.config import ConfigError, parse_config
from bot.events import MessageReceived, Scheduled
from bot.runtime import Bot
from bot.web.app import create_app
from handlers import FEATURES
from storage.models import AuditEntry, OutboxMessage
from storage.models_activation import ActivationAction, ActivationPlan
from tests.harness import Harness
from tests.staffkit import add_staff, csrf, sign_in

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
AUTH = {"Authorization": "Bearer test-api-token"}
GROUPS = [
    {"id": "g1", "platform": "console", "name": "热闹群", "tags": ["宝妈"], "admins": ["gadmin"]},
    {
        "id": "g2",
        "platform": "console",
        "name": "冷清群",
        "tags": ["宝妈"],
        "activation": {"owner": "boss"},
    },
]
RULE = {
    "name": "冷群",
    "targets": ["tag:宝妈"],
    "condition": "messages_per_day_below",
    "threshold": 3,
    "days": 3,
    "actions": [
        {"kind": "remind_owner", "time": "20:00", "amount": 66, "packets": 10},
        {
            "kind": "post",
            "time": "21:00",
            "text": "今晚{theme}：聊聊孩子的周末安排",
            "theme": "话题夜",
        },
    ],
}
CONFIG = {"groups": GROUPS, "activation": {"evaluate_at": "09:00", "rules": [RULE]}}


async def say_at(h: Harness, user: str, group: str, at: datetime, text: str = "hi") -> None:
    """A message that happened at ``at`` (delivered now)."""
    ev = MessageReceived(
        dedup_key=f"test:{user}:{group}:{at.isoformat()}:{text}",
        platform="console",
        group_id=group,
        occurred_at=at,
        user_id=user,
        user_name=user,
        text=text,
        message_id=f"{user}{at.timestamp()}",
    )
    await h.feed(ev)


async def days_of_chatter(h: Harness, days: int) -> None:
    """Each day at 10:00: six messages in g1, one in g2; then the next day."""
    for _ in range(days):
        for i in range(6):
            await h.say(f"m{i}", "早上好", group="g1")
        await h.say("quiet", "早", group="g2")
        await h.advance(days=1)


async def reminders(bot: Bot) -> list[OutboxMessage]:
    async with bot.db.read() as s:
        q = select(OutboxMessage).where(OutboxMessage.idem_key.like("act:%"))
        return list((await s.scalars(q)).all())


async def week(client: TestClient, when: str = "") -> dict[str, Any]:
    r = await client.get("/api/activation" + (f"?week={when}" if when else ""), headers=AUTH)
    assert r.status == 200, await r.text()
    body: dict[str, Any] = await r.json()
    return body


@pytest.fixture
async def h(make_harness: MakeHarness) -> Harness:
    h = await make_harness(CONFIG)  # Wednesday 2026-11-18 10:00 (Asia/Shanghai)
    await days_of_chatter(h, 1)
    # the hour a week before the action: 18th 20:00–21:00, two messages by one member
    at = h.clock.now() - timedelta(hours=13, minutes=55)
    await say_at(h, "amy", "g2", at, "上周的一句")
    await say_at(h, "amy", "g2", at + timedelta(minutes=1), "上周的第二句")
    await days_of_chatter(h, 6)  # now Wednesday 25th 10:00
    return h


async def test_a_quiet_group_is_planned_and_reminded_once(
    h: Harness, aiohttp_client: Client, tmp_path: Path
) -> None:
    await h.run_jobs()  # the job's first run: past 09:00, the day is planned
    await h.run_jobs()
    async with h.bot.db.read() as s:
        plans = (await s.execute(select(ActivationPlan.group_id, ActivationPlan.day))).all()
    assert [(g, d.isoformat()) for g, d in plans] == [("g2", "2026-11-25")]  # not busy g1
    client = await aiohttp_client(create_app(h.bot, manage=False))
    view = await week(client)
    assert view["week"] == "2026-11-23" and len(view["plans"]) == 1
    plan = view["plans"][0]
    assert plan["group_name"] == "冷清群" and "日均消息 1.0 条" in plan["reason"]
    assert [a["status"] for a in plan["actions"]] == ["planned", "planned"]
    assert plan["actions"][0]["at"] == "2026-11-25T12:00:00+00:00"  # 20:00 in Shanghai

    h.clock.advance(timedelta(hours=9, minutes=59))
    assert await h.run_jobs() == [] and await reminders(h.bot) == []  # not yet
    h.clock.advance(timedelta(minutes=2))
    said = await h.run_jobs()
    sent = [line for line in said if "boss" in line]
    assert len(sent) == 1 and "66 元" in sent[0] and "分 10 个" in sent[0]
    assert "机器人不能发红包" in sent[0]
    assert all("g1" not in line for line in said)
    # again, a redelivered event with another key, and a restart: nothing new
    assert await h.run_jobs() == []
    again = Scheduled(
        dedup_key="redelivered",
        platform="internal",
        group_id="g2",
        occurred_at=h.clock.now(),
        job="activation.act",
        data={"plan": plan["id"], "idx": 0},
    )
    assert await h.feed(again) == []
    await h.bot.stop()
    bot = Bot(h.bot.config, h.clock, workers=False, migrate=False, run_jobs=False)
    await bot.start()
    try:
        await bot.jobs.run_due()
        await bot.drain()
        rows = await reminders(bot)
        assert [(r.idem_key, r.target) for r in rows] == [("act:1:0", "console:private:boss")]
        async with bot.db.read() as s:
            n = await s.scalar(select(func.count()).select_from(ActivationPlan))
        assert n == 1
    finally:
        await bot.stop()


async def test_the_effect_is_the_hour_after_against_a_week_before(
    h: Harness, aiohttp_client: Client
) -> None:
    await h.run_jobs()
    client = await aiohttp_client(create_app(h.bot, manage=False))
    h.clock.advance(timedelta(hours=10))  # 20:00
    await h.run_jobs()
    for user, group, minutes in (("amy", "g2", 5), ("dan", "g1", 5), ("ben", "g2", 15)):
        h.clock.advance(timedelta(minutes=minutes))
        await h.say(user, "来了", group=group)
    h.clock.advance(timedelta(minutes=34))  # 20:59
    await h.say("amy", "还有我", group="g2")
    first = (await week(client))["plans"][0]["actions"][0]
    assert first["status"] == "done" and first["effect"] is None  # the hour is not over
    h.clock.advance(timedelta(minutes=2))
    await h.say("cat", "下一个小时", group="g2")
    await h.run_jobs()  # 21:01: the themed post goes out too
    acts = (await week(client))["plans"][0]["actions"]
    assert acts[0]["effect"] == {
        "after": {"messages": 3, "active": 2},
        "week_before": {"messages": 2, "active": 1},
        "change": {"messages": 1, "active": 1},
    }
    assert acts[1]["status"] == "done" and acts[1]["channel"] == "group"
    posts = [line for line in h.lines if "话题夜" in line]
    assert len(posts) == 1 and "g2" in posts[0]
    r = await client.get("/api/activation?week=next", headers=AUTH)
    assert r.status == 400


async def test_an_operator_skips_and_a_viewer_cannot(h: Harness, aiohttp_client: Client) -> None:
    await h.run_jobs()
    await add_staff(h, "ann", "operator")
    await add_staff(h, "vic", "viewer")
    viewer = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(viewer, "vic")
    page = await (await viewer.get("/admin/activation")).text()
    assert "冷清群" in page and "机器人不能发红包" in page
    form = {"csrf": await csrf(viewer, "/admin/activation"), "plan": "1", "idx": "0"}
    r = await viewer.post("/admin/activation/skip", data=form, allow_redirects=False)
    assert r.status == 403
    operator = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(operator, "ann")
    r = await operator.post(
        "/admin/activation/skip", data={"plan": "1", "idx": "0"}, allow_redirects=False
    )
    assert r.status == 403  # no anti-forgery value
    async with h.bot.db.read() as s:
        states = (await s.scalars(select(ActivationAction.status))).all()
    assert list(states) == ["planned", "planned"]
    token = await csrf(operator, "/admin/activation")
    form = {"csrf": token, "plan": "1", "idx": "0", "week": "2026-11-25"}
    r = await operator.post("/admin/activation/skip", data=form, allow_redirects=False)
    assert r.status == 303
    shown = await (await operator.get(r.headers["Location"])).text()
    assert "已跳过（staff:ann）" in shown
    r = await operator.post("/admin/activation/skip", data=form, allow_redirects=False)
    assert r.status == 409
    h.clock.advance(timedelta(hours=10, minutes=1))
    await h.run_jobs()
    assert await reminders(h.bot) == []  # the skipped reminder never goes
    async with h.bot.db.read() as s:
        audit = (
            await s.execute(
                select(AuditEntry.actor_id, AuditEntry.target_id).where(
                    AuditEntry.action == "activation.skip"
                )
            )
        ).all()
    assert [tuple(a) for a in audit] == [("staff:ann", "1:0")]
    view = await week(await aiohttp_client(create_app(h.bot, manage=False)))
    assert [a["status"] for a in view["plans"][0]["actions"]] == ["skipped", "planned"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"condition": "active_rate_below", "threshold": 2}, "threshold"),
        ({"condition": "before_campaign"}, "date"),
        ({"condition": "sentiment_below"}, "condition"),
        ({"actions": [{"kind": "remind_owner", "time": "20:30", "amount": 5}]}, "time"),
        ({"actions": [{"kind": "remind_owner", "time": "20:00"}]}, "amount"),
        ({"actions": [{"kind": "post", "time": "20:00", "text": "{0.__class__}"}]}, "actions"),
        ({"actions": [{"kind": "remind_owner", "time": "08:00", "amount": 5}]}, "evaluate_at"),
        ({"targets": ["g9"]}, "targets[0]"),
    ],
)
def test_bad_rules_are_refused_with_their_key_path(change: dict[str, Any], path: str) -> None:
    raw = {
        "bot": {"timezone": "Asia/Shanghai"},
        "groups": GROUPS,
        "activation": {"rules": [{**RULE, **change}]},
    }
    with pytest.raises(ConfigError) as err:
        parse_config(raw, FEATURES, environ={})
    assert "activation" in str(err.value) and path in str(err.value)
    assert re.search(r"rules", str(err.value))


def test_an_action_time_is_utc_of_the_groups_clock() -> None:
    from handlers.activation.plan import action_at

    raw = {"bot": {"timezone": "Asia/Shanghai"}, "groups": GROUPS}
    config = parse_config(raw, FEATURES, environ={})
    got = action_at(config, "g2", datetime(2026, 11, 25).date(), "20:00")
    assert got == datetime(2026, 11, 25, 12, tzinfo=UTC)
