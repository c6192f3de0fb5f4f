"""Several instances on one database, in one process: the scheduler lease, dispatchers and
outbox workers racing each other. Runs on SQLite, and on PostgreSQL with GROUPBOT_TEST_DB
(the outbox claims are PostgreSQL's; SQLite has one writer process)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import leader
from bot.events import MessageReceived, Scheduled
from bot.leader import LeaderLease
from bot.outbox.queue import enqueue
from bot.outbox.worker import OutboxWorker
from bot.runtime import Bot
from storage.db import Database
from storage.models import Lease, OutboxMessage
from storage.models_checkin import Checkin
from storage.models_referral import RewardClaim
from tests import pgdb
from tests.fakes.clock import FakeClock
from tests.harness import Harness, make_config

pg_only = pytest.mark.skipif(pgdb.pg_url() is None, reason="needs GROUPBOT_TEST_DB (PostgreSQL)")


async def _db(tmp_path: Path) -> Database:
    db = Database(pgdb.database_url(tmp_path))
    await db.create_all()
    return db


async def test_one_lease_holder_and_takeover_after_expiry(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    changes: list[tuple[str, bool]] = []
    a = LeaderLease(db, "a", lambda on: changes.append(("a", on)), ttl_s=0.3)
    b = LeaderLease(db, "b", lambda on: changes.append(("b", on)), ttl_s=0.3)
    try:
        results = await asyncio.gather(a.try_acquire(), b.try_acquire())
        assert sorted(results) == [False, True]
        first, second = (a, b) if a.is_leader else (b, a)
        assert await first.try_acquire() and not await second.try_acquire()  # renewal
        await asyncio.sleep(0.4)  # the leader "dies": it stops renewing, the lease runs out
        assert await second.try_acquire()
        assert not await first.try_acquire()  # the old leader learns it lost
        await second.stop()  # a graceful stop hands the lease back at once
        assert await first.try_acquire()
        async with db.read() as s:
            assert await s.scalar(select(Lease.holder)) == first.holder
        assert changes[-1] == (first.holder, True)
    finally:
        await db.dispose()


class _Away:
    """A database that cannot be reached."""

    def transaction(self) -> None:
        raise ConnectionError("database away")


async def test_a_leader_cut_off_stops_leading_in_monotonic_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease row holds for TTL_S of the others' wall time; a leader that cannot renew
    stops before that in its own monotonic time, whatever its wall clock does."""
    db = await _db(tmp_path)
    a = LeaderLease(db, "a", lambda _on: None, ttl_s=3.0)
    try:
        t0 = time.monotonic()
        monkeypatch.setattr(leader, "monotonic", lambda: t0)
        assert await a.try_acquire()
        a.db = _Away()  # type: ignore[assignment]
        stepped = leader.wall_now() - timedelta(hours=1)
        monkeypatch.setattr(leader, "wall_now", lambda: stepped)  # and the wall steps back
        monkeypatch.setattr(leader, "monotonic", lambda: t0 + 1.0)
        assert await a.try_acquire()  # the lease it holds still runs for 2 s
        monkeypatch.setattr(leader, "monotonic", lambda: t0 + 2.5)
        assert not await a.try_acquire()  # within a third of its end: it stops leading
    finally:
        a.db = db
        await db.dispose()


async def test_two_instances_check_in_each_member_once(tmp_path: Path) -> None:
    """Both dispatchers run the same queue at once: every event once, one check-in each."""
    cfg = make_config(tmp_path, {"rules": {"flood": {"enabled": False}}})
    clock = FakeClock()
    bots = [
        Bot(cfg, clock, workers=False, migrate=False, console_sink=lambda _l: None)
        for _ in range(2)
    ]
    await bots[0].db.create_all()
    for bot in bots:
        await bot.start()
    try:
        events = [
            MessageReceived(
                dedup_key=f"m{uuid.uuid4().hex}",
                platform="console",
                group_id=f"g{1 + i % 2}",
                occurred_at=clock.now(),
                user_id=f"u{i % 40}",
                text="/签到",
                message_id=str(i),
            )
            for i in range(120)  # 40 members, three messages each, two groups
        ]
        for e in events:  # each event reaches both instances
            await asyncio.gather(*(b.inbox.submit(e) for b in bots))
        await asyncio.gather(*(b.drain() for b in bots))
        await asyncio.gather(*(b.drain() for b in bots))
        async with bots[0].db.read() as s:
            assert await s.scalar(select(func.count()).select_from(Checkin)) == 40
            texts = [str(p["text"]) for p in await s.scalars(select(OutboxMessage.payload))]
        assert sum("签到成功" in t for t in texts) == 40
        assert sum("已经签到过" in t for t in texts) == 80
        if bots[0].db.dialect == "postgresql":  # and each sent once (claims are PG's)
            # (replies due together go out as one message, one reply per line)
            lines = [ln for b in bots for line in b.console.lines for ln in line.split("\n")]
            assert len(lines) == len(texts) == 120
    finally:
        for bot in bots:
            await bot.stop()


async def test_reward_claimed_once_across_instances(tmp_path: Path) -> None:
    """The same member's `/领奖`, many times over, reaching two instances: one claim."""
    extra = {"referral": {"qualify_days": 3, "tiers": [{"invites": 1, "reward": "券"}]}}
    cfg = make_config(tmp_path, {**extra, "rules": {"flood": {"enabled": False}}})
    clock = FakeClock()
    bots = [
        Bot(cfg, clock, workers=False, migrate=False, console_sink=lambda _l: None)
        for _ in range(2)
    ]
    await bots[0].db.create_all()
    for bot in bots:
        await bot.start()
    try:
        h = Harness(bots[0], clock)
        await h.join("nina", inviter="amy")
        await h.advance(days=3, seconds=1)
        settle = Scheduled(
            dedup_key="settle",
            platform="internal",
            group_id=None,
            occurred_at=clock.now(),
            job="referral.settle",
        )
        await h.feed(settle)
        claims = [
            MessageReceived(
                dedup_key=f"claim{i}",
                platform="console",
                group_id="g1",
                occurred_at=clock.now(),
                user_id="amy",
                text="/领奖",
                message_id=f"c{i}",
            )
            for i in range(10)
        ]
        for e in claims:
            await asyncio.gather(*(b.inbox.submit(e) for b in bots))
        await asyncio.gather(*(b.drain() for b in bots))
        async with bots[0].db.read() as s:
            rows = (await s.execute(select(RewardClaim.user_id, RewardClaim.tier))).all()
        assert [tuple(r) for r in rows] == [("amy", 1)]
    finally:
        for bot in bots:
            await bot.stop()


class Recorder:
    """A sender that remembers what it sent, and yields so the workers interleave."""

    def __init__(self, sent: list[tuple[str, str]]) -> None:
        self.sent = sent

    async def send(self, row: OutboxMessage) -> None:
        await asyncio.sleep(0)
        self.sent.append((row.target, str(row.payload["text"])))


@pg_only
async def test_outbox_workers_share_targets_without_double_sends(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    clock = FakeClock()
    sent: list[tuple[str, str]] = []
    try:
        async with db.transaction() as s:
            for i in range(300):
                target = f"onebot:{i % 7}"
                payload = {"text": f"{target}#{i:03d}", "group_id": target}
                kw = {"channel": "onebot", "target": target, "action": "text"}
                await enqueue(s, now=clock.now(), payload=payload, idem_key=f"k{i}", **kw)
        workers = [OutboxWorker(db, clock, {"onebot": Recorder(sent)}, batch=20) for _ in range(3)]
        for _ in range(40):
            if not sum(await asyncio.gather(*(w.run_once() for w in workers))):
                break
        texts = [t for _, t in sent]
        assert sorted(texts) == sorted(set(texts)) and len(texts) == 300
        for k in range(7):  # per target, in order
            mine = [t for target, t in sent if target == f"onebot:{k}"]
            assert mine == sorted(mine)
        assert sum(w.sent for w in workers) == 300
    finally:
        await db.dispose()
