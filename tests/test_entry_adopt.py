"""A 活码 campaign survives WeCom opening a fourth group, through the real signed and
encrypted callback path and the fake WeCom API on 127.0.0.1: the ``change_external_chat``
``create`` of the group WeCom opened leads to its adoption (once, audited, however often
WeCom redelivers), the code is updated with it, it is tagged, and the next programme slots
that target its tags reach it (企业群发 to its owner, and a staff reminder); a restart keeps
it; a created chat that belongs to no campaign stays ignored."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.adapters import wecom_sign
from bot.adapters.wecom import WeComKeys
from bot.config import parse_config
from bot.runtime import Bot
from bot.web.app import create_app
from handlers import FEATURES
from handlers.entry.joinway import round_job
from handlers.groupmsg import run_once
from handlers.programme.ticks import tick
from storage.models import AuditEntry, Group, GroupAdoption, InboxEvent
from storage.models_entry import EntryCandidate, EntryGroup
from tests.fakes.clock import DEFAULT_START, FakeClock
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import BASE, Harness, merge

AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP = WeComKeys("apptoken", AES, "wwcorp")
AUTH = {"Authorization": "Bearer test-api-token"}
CHATS = ["wrA", "wrB", "wrC"]
NEW, OTHER = "wrD", "wrX"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as f:
        for c in CHATS:
            f.customer.add_chat(c, name=f"宝妈福利群{c[-1]}", owner="staff1")
        f.customer.add_chat(OTHER, name="宝妈福利群9", owner="staff9")  # same name, not ours
        yield f


def config(fake: FakeWeCom) -> dict[str, Any]:
    slots = [
        {
            "id": "benefit",
            "days": ["wed"],
            "time": "10:00",
            "content": "会员福利日 🎁",
            "key": True,
            "targets": ["tag:宝妈"],
        },
        {
            "id": "hello",
            "days": ["wed"],
            "time": "10:00",
            "content": "新群的朋友们好",
            "targets": ["tag:活码新群"],
        },
    ]
    return {
        "wecom": {
            "corp_id": "wwcorp",
            "token": APP.token,
            "encoding_aes_key": AES,
            "secret": "corp-secret",
            "agent_id": fake.groupmsg.agent_id,
            "api_base": fake.url,
            "sync": {"welcome_template": False, "reconcile_on_start": False, "delay_s": 2},
        },
        "programme": {"slots": slots},
        "groups": [
            {
                "id": c,
                "platform": "wecom",
                "name": f"宝妈福利群{c[-1]}",
                "tags": ["宝妈"],
                "admins": ["staff1"],
                "groupmsg": {"owner": "staff1"},
                "welcome": {"capacity": 190},
            }
            for c in CHATS
        ],
        "entry": [
            {
                "id": "mama",
                "title": "宝妈福利群",
                "groups": CHATS,
                "tags": ["活码新群"],
                "wecom": {"room_base_name": "宝妈福利群", "room_base_id": 4},
            }
        ],
    }


async def callback(client: TestClient, xml: str, nonce: str, times: int = 1) -> None:
    """Post one signed, encrypted callback ``times`` times (WeCom redelivers)."""
    q, body = wecom_sign.sign_post_xml(APP, xml, int(time.time()), nonce)
    for _ in range(times):
        r = await client.post("/wecom/callback", params=q, data=body)
        assert r.status == 200, await r.text()


async def step(bot: Bot, clock: FakeClock, seconds: float) -> None:
    """Time passes; the entry job, the programme tick and the groupmsg round run."""
    clock.advance(seconds)
    await round_job(bot)
    await bot.drain()
    await tick(bot)
    await bot.drain()
    await run_once(bot)
    await bot.drain()


async def count(bot: Bot, q: Any) -> int:
    async with bot.db.read() as s:
        return int(await s.scalar(q) or 0)


@pytest.fixture
async def started(
    fake: FakeWeCom,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> tuple[Harness, TestClient]:
    clock = FakeClock(DEFAULT_START - timedelta(minutes=10))  # Wednesday 09:50 in Shanghai
    fake.clock = clock
    h = await make_harness(config(fake), clock=clock)
    h.bot.workers = True  # (the entry job serves only where workers run)
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def test_a_fourth_group_is_adopted_tagged_and_posted_to(
    started: tuple[Harness, TestClient], fake: FakeWeCom
) -> None:
    h, client = started
    bot = h.bot
    await step(bot, h.clock, 1)
    ((cfg, way),) = fake.customer.join_ways.items()
    assert way["chat_id_list"] == CHATS

    # every group is full: WeCom opens 宝妈福利群4 and says so; an unrelated chat is created too
    fake.customer.open_room(cfg, NEW)
    await callback(client, wecom_sign.external_chat_xml(NEW, "create"), "n1", times=2)
    await callback(client, wecom_sign.external_chat_xml(OTHER, "create"), "n2")
    await bot.drain()
    assert bot.config.group(NEW) is None, "nothing is adopted inside the event path"
    await step(bot, h.clock, 3)  # past delay_s: WeCom is asked, the answer adopts
    assert bot.config.group(NEW) is not None
    await step(bot, h.clock, 10)  # the next round sends the code its groups again
    assert fake.customer.count("update_join_way") == 1
    assert fake.customer.join_ways[cfg]["chat_id_list"] == [*CHATS, NEW]

    r = await client.get("/api/groups", headers=AUTH)
    groups = {g["id"]: g for g in (await r.json())["groups"]}
    assert groups[NEW]["tags"] == ["宝妈", "活码新群"] and groups[NEW]["name"] == "宝妈福利群4"
    assert groups[NEW]["platform"] == "wecom"
    assert OTHER not in groups, "a chat of no campaign stays ignored"
    assert bot.config.group_mode(OTHER) == "ignore"
    data = await (await client.get("/api/entry", headers=AUTH)).json()
    assert NEW in [g["id"] for g in data["campaigns"][0]["groups"]]

    # a redelivery much later, and more rounds: still one adoption, one audit row
    await callback(client, wecom_sign.external_chat_xml(NEW, "create"), "n3")
    await step(bot, h.clock, 10)
    assert await count(bot, select(func.count()).select_from(GroupAdoption)) == 1
    adopts = select(func.count()).where(AuditEntry.action == "group.adopt")
    assert await count(bot, adopts.select_from(AuditEntry)) == 1
    assert await count(bot, select(func.count()).select_from(EntryGroup)) == 1
    async with bot.db.read() as s:
        states = dict(
            (await s.execute(select(EntryCandidate.chat_id, EntryCandidate.status))).all()
        )
        assert await s.get(Group, OTHER) is None
    assert states == {NEW: "adopted", OTHER: "unrelated"}
    data = await (await client.get("/api/entry", headers=AUTH)).json()
    created = {g["chat_id"]: (g["status"], g["campaign"]) for g in data["created_groups"]}
    assert created == {NEW: ("adopted", "mama"), OTHER: ("unrelated", "")}

    # 10:00: the key slot for tag 宝妈 is one 企业群发 task to staff1 with all four groups;
    # the slot for the campaign's tag is a staff reminder for the new group alone
    await step(bot, h.clock, 10 * 60)
    await step(bot, h.clock, 30)
    ((task),) = fake.groupmsg.tasks.values()
    assert task["sender"] == "staff1" and sorted(task["chat_ids"]) == [*CHATS, NEW]
    hello = [m for m in fake.groupmsg.app_messages if "新群的朋友们好" in m["text"]["content"]]
    assert len(hello) == 1 and hello[0]["touser"] == "staff1"
    assert "宝妈福利群4" in hello[0]["text"]["content"]
    occ = (await (await client.get(f"/api/groups/{NEW}/programme", headers=AUTH)).json())[
        "occurrences"
    ]
    assert {o["slot"] for o in occ} == {"benefit", "hello"}

    # restart with a configuration read afresh: the adoption is loaded from the database
    await bot.stop()
    raw = merge(BASE, config(fake))
    raw["storage"] = {"url": bot.config.storage.url}
    fresh = parse_config(raw, FEATURES, environ={})
    assert fresh.group(NEW) is None
    again = Bot(fresh, h.clock, workers=False, migrate=False, console_sink=None, run_jobs=False)
    await again.start()
    try:
        g = again.config.group(NEW)
        assert g is not None and g.tags == ["宝妈", "活码新群"] and g.webhook_key == ""
        assert again.config.feature("groupmsg", NEW).owner == "staff1"
        assert again.config.feature("welcome", NEW).capacity == 190
        assert again.config.group_mode(OTHER) == "ignore"
    finally:
        await again.stop()


async def test_by_name_and_owner_when_the_code_does_not_list_it_and_other_instances_learn(
    started: tuple[Harness, TestClient],
    fake: FakeWeCom,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h, client = started
    bot = h.bot
    raw = merge(BASE, config(fake))
    raw["storage"] = {"url": bot.config.storage.url}
    other = Bot(
        parse_config(raw, FEATURES, environ={}),
        h.clock,
        workers=False,
        migrate=False,
        console_sink=None,
        run_jobs=False,
    )
    await other.start()  # a second instance on the same database, started before
    try:
        other_client = await aiohttp_client(create_app(other, manage=False))
        await step(bot, h.clock, 1)
        ((cfg, _),) = fake.customer.join_ways.items()
        fake.customer.open_room(cfg, NEW)
        fake.customer.join_ways[cfg]["chat_id_list"] = CHATS  # WeCom did not list it
        fake.customer.add_chat("wrY", name="宝妈福利群3", owner="staff1")  # below room_base_id
        await callback(client, wecom_sign.external_chat_xml(NEW, "create"), "m1")
        await callback(client, wecom_sign.external_chat_xml("wrY", "create"), "m2")
        await bot.drain()
        await step(bot, h.clock, 3)
        assert bot.config.group(NEW) is not None and bot.config.group("wrY") is None
        assert other.config.group(NEW) is None  # it has not looked yet

        # a member joins the new group; WeCom's callback reaches the other instance, which
        # looks for adoptions before it would keep only the event's key
        h.clock.advance(timedelta(seconds=11))
        fake.customer.add_member(NEW, "wmNew", 1_763_431_300, join_scene=3)
        xml = wecom_sign.external_chat_xml(NEW, "update", "add_member", ("wmNew",), 3)
        await callback(other_client, xml, "m3")
        assert other.config.group(NEW) is not None
        async with bot.db.read() as s:
            kinds = (
                (
                    await s.execute(
                        select(InboxEvent.payload).where(
                            InboxEvent.group_id == NEW, InboxEvent.kind == "group_changed"
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert any(p.get("update_detail") == "add_member" for p in kinds), "kept whole"
    finally:
        await other.stop()


def test_config_adopt_copies_settings_but_not_the_robot_key() -> None:
    raw = merge(BASE, {})
    raw["groups"].append(
        {
            "id": "g3",
            "platform": "wecom",
            "webhook_key": "k",
            "tags": ["a"],
            "admins": ["x"],
            "checkin": {"base_points": 7},
        }
    )
    cfg = parse_config(raw, FEATURES, environ={})
    assert not cfg.adopt("g4", "nope") and cfg.group("g4") is None
    assert cfg.adopt("g4", "g3", "四群", ["b", "a"])
    g = cfg.group("g4")
    assert g is not None and (g.name, g.webhook_key, g.tags) == ("四群", "", ["a", "b"])
    assert g.admins == ["x"] and cfg.feature("checkin", "g4").base_points == 7
    assert cfg.group_mode("g4") == "manage" and [x.id for x in cfg.groups][-1] == "g4"
    assert not cfg.adopt("g4", "g1") and not cfg.adopt("g1", "g3")
