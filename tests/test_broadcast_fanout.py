"""Fan-out exactly once: chunks in transactions of their own, a restart between them, a lost
start event, a fan-out run again, a cancel racing it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import delete, func, select, update

from bot.events import Scheduled
from bot.runtime import Bot
from bot.web.app import create_app
from handlers.broadcast import fanout, repo, store
from storage.models import InboxEvent, OutboxMessage
from storage.models_broadcast import Broadcast, BroadcastGroup
from tests.harness import Harness, make_config

AUTH = {"Authorization": "Bearer test-api-token"}
GROUPS = [
    {"id": f"g{i:02}", "name": f"群{i}", "tags": ["宝妈"] if i % 4 else []} for i in range(24)
]
TAGGED = [g["id"] for g in GROUPS if g["tags"]]


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Harness, TestClient]:
    monkeypatch.setattr(fanout, "CHUNK", 5)
    h = await make_harness({"groups": GROUPS})
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def post(client: TestClient, body: dict[str, Any]) -> int:
    r = await client.post("/api/broadcasts", json=body, headers=AUTH)
    assert r.status == 201, await r.text()
    bid: int = (await r.json())["id"]
    return bid


def delivered(lines: list[str]) -> Counter[str]:
    """How often each group got a message (console lines: ``[group] 🤖 text``)."""
    return Counter(line.split("]")[0].lstrip("[") for line in lines)


async def group_states(bot: Bot, bid: int) -> Counter[str]:
    async with bot.db.read() as s:
        rows = await s.execute(
            select(BroadcastGroup.state, func.count())
            .where(BroadcastGroup.broadcast_id == bid)
            .group_by(BroadcastGroup.state)
        )
        return Counter(dict(rows.all()))


async def test_a_restart_between_chunks_loses_no_group_and_sends_none_twice(
    setup: tuple[Harness, TestClient], tmp_path: Path
) -> None:
    h, client = setup
    bid = await post(client, {"targets": ["tag:宝妈"], "text": "{group} 你好"})
    await h.bot.dispatcher.run_once()  # a chunk (or two) commit, with the event for the next
    begun = await group_states(h.bot, bid)
    assert begun["queued"] in (5, 10) and begun["scheduled"] == len(TAGGED) - begun["queued"]
    async with h.bot.db.read() as s:
        follow = await s.scalar(
            select(func.count()).where(
                InboxEvent.status == "queued", InboxEvent.dedup_key.like("bcfan:%")
            )
        )
    assert follow in (1, 2)
    # the process dies here: a new one on the same database carries on (the first one does
    # nothing more; stopping it would finish the work)
    again = Bot(make_config(tmp_path, {"groups": GROUPS}), h.clock, workers=False, migrate=False)
    await again.start()
    try:
        await again.drain()
        assert await group_states(again, bid) == {"queued": len(TAGGED)}
        assert h.lines == []
        got = delivered(again.console.lines)
        assert got == Counter(dict.fromkeys(TAGGED, 1))
        async with again.db.read() as s:
            status = await s.scalar(select(Broadcast.status).where(Broadcast.id == bid))
        assert status == "queued"
    finally:
        await again.stop()


async def test_a_lost_start_event_is_picked_up_by_the_periodic_job(
    setup: tuple[Harness, TestClient],
) -> None:
    h, client = setup
    await h.bot.drain()  # (the job's run at start)
    bid = await post(client, {"targets": ["all"], "text": "全体通知"})
    async with h.bot.db.transaction() as s:  # as if the process died before storing it
        await s.execute(delete(InboxEvent).where(InboxEvent.dedup_key.like("bcfan:%")))
    await h.bot.drain()
    assert h.lines == []
    h.clock.advance(fanout.EVERY_S)
    await fanout.queue_due(h.bot)
    await h.bot.drain()
    assert delivered(h.lines) == Counter({g["id"]: 1 for g in GROUPS})
    assert await group_states(h.bot, bid) == {"queued": len(GROUPS)}


async def test_a_fan_out_run_again_queues_nothing_twice(
    setup: tuple[Harness, TestClient],
) -> None:
    """Should the claims be lost (they commit with the messages; here they are wiped), the
    outbox key ``bc:{id}:{group}`` still keeps each group to one message."""
    h, client = setup
    bid = await post(client, {"targets": ["tag:宝妈"], "text": "一次"})
    await h.bot.drain()
    async with h.bot.db.transaction() as s:
        await s.execute(update(BroadcastGroup).values(state="scheduled", parts=0))
        await s.execute(update(Broadcast).values(status="scheduled"))
    for n in range(2):
        ev = Scheduled(
            dedup_key=f"again:{n}",
            platform="internal",
            group_id=None,
            occurred_at=h.clock.now(),
            job=fanout.FANOUT_JOB,
        )
        await h.bot.inbox.submit(ev)
        await h.bot.drain()
    assert delivered(h.lines) == Counter(dict.fromkeys(TAGGED, 1))
    async with h.bot.db.read() as s:
        keys = list(await s.scalars(select(OutboxMessage.idem_key)))
    assert sorted(keys) == sorted(f"bc:{bid}:{g}" for g in TAGGED)


async def test_a_cancel_between_chunks_stops_the_rest(setup: tuple[Harness, TestClient]) -> None:
    h, client = setup
    bid = await post(client, {"targets": ["tag:宝妈"], "text": "半路取消"})
    await h.bot.dispatcher.run_once()
    begun = (await group_states(h.bot, bid))["queued"]
    r = await client.delete(f"/api/broadcasts/{bid}", headers=AUTH)
    rep = await r.json()
    assert rep["counts"]["cancelled"] == len(TAGGED)  # queued ones taken back, the rest not begun
    await h.bot.drain()
    assert h.lines == []
    assert await group_states(h.bot, bid) == {"queued": begun, "cancelled": len(TAGGED) - begun}


async def test_a_cancel_racing_the_fan_out_wins_over_it(
    setup: tuple[Harness, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fan-out has read its groups; a cancel commits before it queues: nothing goes."""
    h, client = setup
    await h.bot.drain()  # (the job's run at start)
    real = store.known_groups
    cancelled: list[bool | None] = []

    async def cancel_first(session: Any, ids: Any = None) -> Any:
        if not cancelled:
            async with h.bot.db.transaction() as s:
                cancelled.append(await repo.cancel(s, bid, h.clock.now()))
        return await real(session, ids)

    monkeypatch.setattr(store, "known_groups", cancel_first)
    bid = await post(client, {"targets": ["tag:宝妈"], "text": "抢跑"})
    await asyncio.wait_for(h.bot.drain(), 30)
    assert cancelled == [True]
    assert h.lines == []
    assert await group_states(h.bot, bid) == {"cancelled": len(TAGGED)}
    async with h.bot.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
