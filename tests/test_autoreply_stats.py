"""Answers per rule and day: the auto-reply API (JSON, CSV, bad input), the stats API's daily
total and per-rule counts, and the dashboard tab — the same numbers everywhere."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp.test_utils import TestClient

from bot.web.app import create_app
from tests.fakes.clock import DEFAULT_START, FakeClock
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
AUTH = {"Authorization": "Bearer test-api-token"}
RULES = [
    {"id": "coupon", "keywords": ["优惠券"], "reply": "小程序领取"},
    {"id": "ship", "keywords": ["发货"], "reply": "48 小时内"},
]


async def seed(h: Harness) -> None:
    """Yesterday (the bot's first day): coupon ×2; today: coupon ×1, ship ×1, a chat rule ×1."""
    await h.say("a", "优惠券")
    await h.say("b", "优惠券在哪")
    await h.advance(days=1)
    await h.say("a", "优惠券")
    await h.say("a", "发货了吗")
    await h.say("gadmin", "/加回复 <快递> 顺丰")
    await h.say("c", "快递呢")


async def test_hits_per_rule_and_day(make_harness: MakeHarness, aiohttp_client: Client) -> None:
    yesterday = FakeClock(DEFAULT_START - timedelta(days=1))
    h = await make_harness({"autoreply": {"rules": RULES, "cooldown_s": 0}}, clock=yesterday)
    await seed(h)
    client = await aiohttp_client(create_app(h.bot, manage=False))
    r = await client.get("/api/groups/g1/autoreply?days=3", headers=AUTH)
    assert r.status == 200
    data = await r.json()
    assert data["days"] == ["2026-11-16", "2026-11-17", "2026-11-18"]
    assert [(x["rule"], x["source"], x["hits"], x["total"]) for x in data["rules"]] == [
        ("coupon", "rule", [0, 2, 1], 3),
        ("ship", "rule", [0, 0, 1], 1),
        ("#1", "chat", [0, 0, 1], 1),
    ]
    r = await client.get("/api/groups/g1/autoreply?days=2&format=csv", headers=AUTH)
    csv = (await r.text()).lstrip("\ufeff")  # (a BOM, for spreadsheets)
    assert csv.splitlines()[:2] == ["rule,source,2026-11-17,2026-11-18", "coupon,rule,2,1"]

    stats = await (await client.get("/api/groups/g1/stats?days=2", headers=AUTH)).json()
    assert [d["auto_replies"] for d in stats["days"]] == [2, 3]
    assert stats["auto_reply_rules"] == {"#1": [0, 1], "coupon": [2, 1], "ship": [0, 1]}

    html = await (await client.get("/admin/groups/g1/autoreply?days=3", headers=AUTH)).text()
    assert 'data-table="autoreply"' in html and "&lt;快递&gt;" in html
    assert re.search(r'data-field="today" data-value="3"', html)


async def test_bad_input(make_harness: MakeHarness, aiohttp_client: Client) -> None:
    h = await make_harness()
    client = await aiohttp_client(create_app(h.bot, manage=False))
    assert (await client.get("/api/groups/g1/autoreply")).status == 401
    for query, status in (("days=0", 400), ("days=x", 400), ("format=xml", 400)):
        r = await client.get(f"/api/groups/g1/autoreply?{query}", headers=AUTH)
        assert r.status == status and "error" in await r.json()
    r = await client.get("/api/groups/nope/autoreply", headers=AUTH)
    assert r.status == 404
    empty = await (await client.get("/api/groups/g1/autoreply", headers=AUTH)).json()
    assert empty["rules"] == [] and len(empty["days"]) == 14
