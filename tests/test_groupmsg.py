"""企业群发 to WeCom customer groups, through the real programme path and the fake WeCom API on
127.0.0.1: a Wednesday 10:00 key slot for 30 customer groups of 3 owners makes exactly 3
tasks, once — also when the job dies right after WeCom answered and the bot restarts — and
the per-group results show in the programme API; a cancelled occurrence cancels its tasks;
slots over the caps go out as staff reminders to each group's owner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.runtime import Bot
from bot.web.app import create_app
from handlers.groupmsg import run_once
from tests.fakes.clock import DEFAULT_START, FakeClock
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness

GROUPS = [f"wrC{i:02d}" for i in range(30)]
OWNERS = ["staff0", "staff1", "staff2"]
AUTH = {"Authorization": "Bearer test-api-token"}
BENEFIT = "本周三会员福利日：全场 8 折 🎁"


def owner_of(gid: str) -> str:
    return OWNERS[int(gid[3:]) % 3]


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as f:
        for g in GROUPS:
            f.customer.add_chat(g, name=f"客户群{g}", owner=owner_of(g))
        yield f


def config(fake: FakeWeCom, slots: list[dict[str, Any]], **gm: Any) -> dict[str, Any]:
    return {
        "wecom": {
            "corp_id": "wwcorp",
            "secret": "corp-secret",
            "agent_id": fake.groupmsg.agent_id,
            "api_base": fake.url,
            "sync": {"enabled": False},
        },
        "groupmsg": gm,
        "programme": {"slots": slots},
        "groups": [
            {"id": g, "platform": "wecom", "name": f"客户群{g}", "groupmsg": {"owner": owner_of(g)}}
            for g in GROUPS
        ],
    }


KEY_SLOT = {
    "id": "benefit",
    "days": ["wed"],
    "time": "10:00",
    "theme": "会员福利日",
    "content": BENEFIT,
    "key": True,
}


async def start(
    make_harness: Callable[..., Awaitable[Harness]], fake: FakeWeCom, cfg: Any
) -> Harness:
    clock = FakeClock(DEFAULT_START - timedelta(minutes=1))  # Wednesday 09:59 in Shanghai
    fake.clock = clock
    return await make_harness(cfg, clock=clock)


async def step(bot: Bot, clock: FakeClock, seconds: float) -> None:
    """Time passes; the programme tick and the groupmsg round run; events are processed."""
    clock.advance(seconds)
    from handlers.programme.ticks import tick

    await tick(bot)
    await bot.drain()
    await run_once(bot)
    await bot.drain()


async def programme(client: TestClient, gid: str) -> list[dict[str, Any]]:
    q = {"from": "2026-11-18T09:00:00+08:00", "to": "2026-11-18T12:00:00+08:00"}
    r = await client.get(f"/api/groups/{gid}/programme", params=q, headers=AUTH)
    assert r.status == 200, await r.text()
    occ: list[dict[str, Any]] = (await r.json())["occurrences"]
    return occ


async def test_wednesday_slot_three_tasks_once_across_a_crash_then_states(
    tmp_path: Path,
    fake: FakeWeCom,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await start(make_harness, fake, config(fake, [KEY_SLOT]))
    bot = h.bot
    await step(bot, h.clock, 90)  # 10:00:30: 30 events, 30 items gathering
    assert not fake.groupmsg.tasks

    # the round that creates the tasks dies right after WeCom answered the first one: the
    # task is made at WeCom and its answer is on our socket, but the job never resumes to
    # record it (cancelled at that await, as SIGKILL would stop it: nothing after runs)
    h.clock.advance(30)
    job = asyncio.create_task(run_once(bot))

    async def die() -> None:
        job.cancel()

    fake.groupmsg.after_create = die
    with pytest.raises(asyncio.CancelledError):
        await job
    assert len(fake.groupmsg.tasks) == 1
    await bot.stop()

    # restart on the same database; the call's lease runs out, the round looks WeCom up
    bot = Bot(bot.config, h.clock, workers=False, migrate=False, console_sink=None, run_jobs=False)
    await bot.start()
    try:
        await step(bot, h.clock, 30)  # within the lease: the claimed task is left alone
        assert len(fake.groupmsg.tasks) == 3  # the two never called are made
        await step(bot, h.clock, 40)  # past the lease: found at WeCom, adopted, not re-made
        await step(bot, h.clock, 60)
        assert len(fake.groupmsg.tasks) == 3
        assert fake.groupmsg.count("add_msg_template") == 3
        by = fake.groupmsg.by_sender()
        assert {o: sorted(c) for o, c in by.items()} == {
            o: sorted(g for g in GROUPS if owner_of(g) == o) for o in OWNERS
        }
        for t in fake.groupmsg.tasks.values():
            assert t["text"] == BENEFIT

        client = await aiohttp_client(create_app(bot))
        occ = (await programme(client, "wrC00"))[0]
        assert occ["channel"] == "groupmsg" and occ["status"] == "sent"
        assert occ["delivery"] in ("tasked", "waiting_owner")

        # staff0 sends (one of their groups had another 群发 first); the others do not
        m0 = next(m for m, t in fake.groupmsg.tasks.items() if t["sender"] == "staff0")
        fake.groupmsg.owner_sends(m0, already={"wrC03"})
        await step(bot, h.clock, 300)
        states = {g: (await programme(client, g))[0]["delivery"] for g in GROUPS}
        assert states["wrC00"] == "sent" and states["wrC03"] == "already_received"
        assert states["wrC01"] == "waiting_owner" and states["wrC02"] == "waiting_owner"

        # 30 minutes before the window's end (4 h) the others are reminded, once each
        await step(bot, h.clock, 3.5 * 3600 - 420)
        await step(bot, h.clock, 60)
        reminded = {t["sender"]: t["reminded"] for t in fake.groupmsg.tasks.values()}
        assert reminded == {"staff0": 0, "staff1": 1, "staff2": 1}
        await step(bot, h.clock, 1800)  # the window ends: what is open is not sent
        states = {g: (await programme(client, g))[0]["delivery"] for g in GROUPS}
        assert states["wrC01"] == "not_sent" and states["wrC00"] == "sent"
        assert sum(1 for s in states.values() if s == "sent") == 9

        r = await client.get("/admin/groups/wrC03/programme", headers=AUTH)
        page = await r.text()
        assert r.status == 200 and "已收到其他群发" in page
        assert fake.groupmsg.count("add_msg_template") == 3
    finally:
        await bot.stop()


async def test_cancelled_slot_cancels_its_tasks(
    fake: FakeWeCom,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await start(make_harness, fake, config(fake, [KEY_SLOT]))
    await step(h.bot, h.clock, 90)
    await step(h.bot, h.clock, 30)
    assert len(fake.groupmsg.tasks) == 3
    client = await aiohttp_client(create_app(h.bot))
    q = {"slot": "benefit", "at": "2026-11-18T10:00:00+08:00"}
    r = await client.delete("/api/programme/occurrences", params=q, headers=AUTH)
    assert r.status == 200, await r.text()
    assert await r.json() == {"groups": 30, "cancelled": 30}
    await step(h.bot, h.clock, 5)
    assert all(t["cancelled"] for t in fake.groupmsg.tasks.values())
    assert fake.groupmsg.count("cancel_groupmsg_send") == 3
    assert {(await programme(client, g))[0]["delivery"] for g in GROUPS} == {"cancelled"}
    await step(h.bot, h.clock, 3600)
    assert fake.groupmsg.count("cancel_groupmsg_send") == 3  # asked once per task
    r = await client.delete(
        "/api/programme/occurrences", params={"slot": "benefit", "at": "x"}, headers=AUTH
    )
    assert r.status == 400


async def test_a_cancel_before_the_slot_means_no_task_at_all(
    fake: FakeWeCom,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await start(make_harness, fake, config(fake, [KEY_SLOT]))
    client = await aiohttp_client(create_app(h.bot))
    q = {"slot": "benefit", "at": "2026-11-18T10:00:00+08:00"}
    r = await client.delete("/api/programme/occurrences", params=q, headers=AUTH)
    assert r.status == 200
    await step(h.bot, h.clock, 90)
    await step(h.bot, h.clock, 60)
    assert not fake.groupmsg.tasks and not fake.groupmsg.app_messages
    assert {(await programme(client, g))[0]["status"] for g in GROUPS} == {"cancelled"}


async def test_over_the_day_cap_a_key_slot_becomes_reminders_to_each_owner(
    fake: FakeWeCom, make_harness: Callable[..., Awaitable[Harness]]
) -> None:
    evening = {**KEY_SLOT, "id": "flash", "time": "20:00", "content": "今晚 8 点限时秒杀"}
    plain = {**KEY_SLOT, "id": "morning", "time": "10:00", "content": "早安", "key": False}
    h = await start(make_harness, fake, config(fake, [KEY_SLOT, evening, plain]))
    await step(h.bot, h.clock, 90)
    await step(h.bot, h.clock, 30)
    assert len(fake.groupmsg.tasks) == 3
    # the plain slot: a staff reminder per group, to that group's owner
    got = sorted((m["touser"], m["text"]["content"]) for m in fake.groupmsg.app_messages)
    assert len(got) == 30 and all("早安" in text for _, text in got)
    assert sorted(u for u, _ in got) == sorted(owner_of(g) for g in GROUPS)
    assert "客户群wrC04" in next(t for u, t in got if u == "staff1" and "wrC04" in t)
    # 20:00 the same day: the day cap (1) is reached, so reminders instead of a task
    await step(h.bot, h.clock, 10 * 3600)
    await step(h.bot, h.clock, 30)
    assert len(fake.groupmsg.tasks) == 3
    flash = [m for m in fake.groupmsg.app_messages if "秒杀" in m["text"]["content"]]
    assert sorted(m["touser"] for m in flash) == sorted(owner_of(g) for g in GROUPS)
    for m in flash:
        gid = m["text"]["content"].split("客户群")[2][:5]  # 「客户群wrCxx」
        assert m["touser"] == owner_of(gid) and "20:00" in m["text"]["content"]
