"""红包激活's other paths: a rule before a campaign plans its day only, its lottery is drawn
among the day's check-ins and posted once through the programme, a reminder for a group
without an owner goes to the alert channel, an action found too late is missed (nothing
sent), and the conditions judge the figures as documented."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.runtime import Bot
from bot.web.app import create_app
from handlers.activation.config import Rule
from handlers.activation.plan import judge
from handlers.stats import RecentActivity
from storage.models import OutboxMessage
from storage.models_activation import ActivationAction, ActivationPlan
from storage.models_programme import LotteryDraw, ProgrammeOccurrence
from tests.harness import Harness, make_config

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
AUTH = {"Authorization": "Bearer test-api-token"}
GROUPS = [
    {"id": "g1", "platform": "console", "name": "一群", "admins": ["gadmin"]},
    {"id": "g2", "platform": "console", "name": "二群", "activation": {"owner": "boss"}},
]
CAMPAIGN = {
    "name": "双11预热",
    "targets": ["g1"],
    "condition": "before_campaign",
    "date": "2026-11-20",
    "days_before": 1,
    "actions": [
        {"kind": "lottery", "time": "20:00", "winners": 2, "text": "预热抽奖：{winners}"},
        {"kind": "remind_owner", "time": "21:00", "amount": 20},
    ],
}


async def statuses(h: Harness) -> list[tuple[str, str, str]]:
    async with h.bot.db.read() as s:
        q = select(ActivationAction.group_id, ActivationAction.kind, ActivationAction.status)
        return [tuple(r) for r in (await s.execute(q.order_by(ActivationAction.at))).all()]


async def week(client: TestClient) -> dict[str, Any]:
    r = await client.get("/api/activation", headers=AUTH)
    assert r.status == 200, await r.text()
    body: dict[str, Any] = await r.json()
    return body


async def test_before_a_campaign_a_lottery_and_an_alert_without_owner(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    h = await make_harness({"groups": GROUPS, "activation": {"rules": [CAMPAIGN]}})
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await h.run_jobs()  # Wednesday 18th: not the day
    assert await statuses(h) == []
    ahead = (await week(client))["ahead"]
    assert ahead == [
        {
            "rule": "双11预热",
            "day": "2026-11-19",
            "groups": ["g1"],
            "actions": [
                {"kind": "lottery", "time": "20:00"},
                {"kind": "remind_owner", "time": "21:00"},
            ],
        }
    ]
    assert "本周稍后" in await (await client.get("/admin/activation?token=test-api-token")).text()
    await h.advance(days=1)  # Thursday 19th 10:00, the day before
    await h.run_jobs()
    assert await statuses(h) == [("g1", "lottery", "planned"), ("g1", "remind_owner", "planned")]
    assert (await week(client))["ahead"] == []  # planned now
    for user in ("amy", "ben", "cat"):
        await h.say(user, "/签到")
    h.clock.advance(timedelta(hours=10))
    said = await h.run_jobs()
    posts = [line for line in said if "预热抽奖" in line]
    assert len(posts) == 1 and posts[0].startswith("[g1]")
    async with h.bot.db.read() as s:
        draw = (await s.scalars(select(LotteryDraw))).one()
        occ = (await s.scalars(select(ProgrammeOccurrence))).one()
    assert len(draw.winners) == 2 and set(draw.winners) <= {"amy", "ben", "cat"}
    assert occ.slot_id == "激活-双11预热-1" and occ.status == "sent"
    assert await h.run_jobs() == []  # once
    h.clock.advance(timedelta(hours=1))
    said = await h.run_jobs()
    alerts = [line for line in said if "未设置群主" in line]
    assert alerts and all("机器人不能发红包" in line for line in alerts)
    assert {"gadmin", "root"} <= {w for line in alerts for w in ("gadmin", "root") if w in line}
    assert await statuses(h) == [("g1", "lottery", "done"), ("g1", "remind_owner", "done")]
    await h.advance(days=1)
    await h.run_jobs()  # the campaign's day itself: nothing new
    async with h.bot.db.read() as s:
        assert len((await s.scalars(select(ActivationPlan))).all()) == 1


async def test_an_action_found_too_late_is_missed(make_harness: MakeHarness) -> None:
    rule = {**CAMPAIGN, "targets": ["g2"], "actions": [CAMPAIGN["actions"][1]]}
    h = await make_harness({"groups": GROUPS, "activation": {"rules": [rule]}})
    await h.advance(days=1)
    await h.run_jobs()
    h.clock.advance(timedelta(hours=12, minutes=30))  # 22:30: 90 minutes after 21:00
    said = await h.run_jobs()
    assert not [line for line in said if "boss" in line]
    assert await statuses(h) == [("g2", "remind_owner", "missed")]


async def test_the_api_skips_once(make_harness: MakeHarness, aiohttp_client: Client) -> None:
    h = await make_harness({"groups": GROUPS, "activation": {"rules": [CAMPAIGN]}})
    await h.advance(days=1)
    await h.run_jobs()
    client = await aiohttp_client(create_app(h.bot, manage=False))
    url = "/api/activation/plans/1/actions/1/skip"
    assert (await client.post(url)).status == 401  # no token
    r = await client.post(url, headers=AUTH)
    assert r.status == 200 and (await r.json())["status"] == "skipped"
    assert (await client.post(url, headers=AUTH)).status == 409
    assert (await client.post("/api/activation/plans/9/actions/0/skip", headers=AUTH)).status == 404
    assert (await client.post("/api/activation/plans/x/actions/0/skip", headers=AUTH)).status == 400
    h.clock.advance(timedelta(hours=10))
    said = await h.run_jobs()
    h.clock.advance(timedelta(hours=1, minutes=1))
    said += await h.run_jobs()
    assert [line for line in said if "预热抽奖" in line]
    assert not [line for line in said if "未设置群主" in line]
    acts = (await week(client))["plans"][0]["actions"]
    assert [(a["status"], a["skipped_by"]) for a in acts] == [("done", ""), ("skipped", "api")]


async def test_a_wecom_owner_gets_an_app_message(make_harness: MakeHarness) -> None:
    wecom = {"corp_id": "wwcorp", "secret": "s", "agent_id": 1000002, "sync": {"enabled": False}}
    groups = [
        {"id": "wc1", "platform": "wecom", "name": "客户群", "groupmsg": {"owner": "zhangsan"}}
    ]
    rule = {**CAMPAIGN, "targets": ["all"], "actions": [CAMPAIGN["actions"][1]]}
    h = await make_harness({"wecom": wecom, "groups": groups, "activation": {"rules": [rule]}})
    await h.advance(days=1)
    await h.run_jobs()
    h.clock.advance(timedelta(hours=11))
    await h.run_jobs()
    async with h.bot.db.read() as s:
        rows = (await s.scalars(select(OutboxMessage))).all()
    mine = [(r.idem_key, r.channel, r.target) for r in rows if r.idem_key.startswith("act:")]
    assert mine == [("act:1:0", "wecom_app", "wecom_app:zhangsan")]
    text = next(r.payload["text"] for r in rows if r.idem_key == "act:1:0")
    assert "20 元" in text and "机器人不能发红包" in text
    assert await statuses(h) == [("wc1", "remind_owner", "done")]


async def test_actions_of_a_removed_rule_are_skipped(
    make_harness: MakeHarness, tmp_path: Path
) -> None:
    h = await make_harness({"groups": GROUPS, "activation": {"rules": [CAMPAIGN]}})
    await h.advance(days=1)
    await h.run_jobs()
    await h.bot.stop()
    config = make_config(tmp_path, {"groups": GROUPS, "storage": {"url": h.bot.config.storage.url}})
    bot = Bot(config, h.clock, workers=False, migrate=False, run_jobs=False)
    await bot.start()
    try:
        h.clock.advance(timedelta(hours=10))
        await bot.jobs.run_due()
        await bot.drain()
        assert not [line for line in bot.console.lines if "预热抽奖" in line]
        async with bot.db.read() as s:
            rows = (
                await s.execute(select(ActivationAction.status, ActivationAction.skipped_by))
            ).all()
        assert sorted(tuple(r) for r in rows) == [("planned", ""), ("skipped", "config")]
    finally:
        await bot.stop()


def test_the_conditions() -> None:
    act = {"kind": "remind_owner", "time": "20:00", "amount": 1}
    quiet = Rule(name="q", condition="messages_per_day_below", threshold=3, days=7, actions=[act])
    rate = Rule(name="r", condition="active_rate_below", threshold=0.2, days=7, actions=[act])
    day = date(2026, 11, 25)
    few = RecentActivity(days=7, messages=20, active=1, members=10)  # 2.86 a day, 10 %
    many = RecentActivity(days=7, messages=21, active=2, members=10)  # 3 a day, 20 %
    assert judge(quiet, few, day, 7) is not None and judge(quiet, many, day, 7) is None
    assert judge(rate, few, day, 7) is not None and judge(rate, many, day, 7) is None
    assert judge(quiet, few, day, 6) is None  # not enough history yet
    empty = RecentActivity(days=7, messages=0, active=0, members=0)
    found = judge(rate, empty, day, 7)
    assert found is not None and "活跃率 0%" in found[0]
