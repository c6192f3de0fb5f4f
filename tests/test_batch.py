"""The dispatcher's batches (bot/dispatch/batch.py): many events, few statements, same answers.

Rules checked:
- A batch of check-ins is read and written with a handful of statements, not a few per event.
- An event sees what earlier events of its batch did (its own check-in on the board, its
  totals in /我的, a second /签到 refused).
- When the batch's writes hit a unique constraint (a row another writer made meanwhile), the
  batch is rolled back and its events run again one by one: each still has its effect once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event, func, select

from bot.events import MessageReceived
from handlers.checkin import Checkins
from storage.models_checkin import Checkin
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
PLAIN = {"checkin": {"streak_bonus": {}, "base_points": 10}, "rules": {"flood": {"enabled": False}}}


def message(h: Harness, user: str, text: str, group: str = "g1") -> MessageReceived:
    return MessageReceived(
        dedup_key=f"b{uuid.uuid4().hex}",
        platform="console",
        group_id=group,
        occurred_at=h.clock.now(),
        user_id=user,
        user_name=user,
        text=text,
        message_id=uuid.uuid4().hex[:10],
    )


async def store(h: Harness, events: list[MessageReceived]) -> None:
    for e in events:
        await h.bot.inbox.submit(e)


async def checkins(h: Harness) -> list[tuple[str, str]]:
    async with h.bot.db.read() as s:
        return [(g, u) for g, u in (await s.execute(select(Checkin.group_id, Checkin.user_id)))]


async def test_a_batch_of_checkins_costs_a_handful_of_statements(
    make_harness: MakeHarness,
) -> None:
    h = await make_harness(PLAIN)
    await store(h, [message(h, f"m{i}", "/签到", group=("g1", "g2")[i % 2]) for i in range(120)])
    seen: list[str] = []

    def count(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split()[0].upper())

    engine = h.bot.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert await h.bot.dispatcher.run_once() >= 120  # (and a scheduled tick, maybe)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(await checkins(h)) == 120
    # ~20 statements for 120 events (was 14 per event); generous, but far below one per event
    assert len(seen) <= 40, seen
    await h.bot.drain()
    said = "\n".join(h.new_lines())
    assert said.count("签到成功") == 120


async def test_an_event_sees_what_its_batch_did_before_it(make_harness: MakeHarness) -> None:
    h = await make_harness(PLAIN)
    await h.say("carol", "/签到")  # a member from an earlier batch
    h.new_lines()
    await store(
        h,
        [
            message(h, "alice", "/签到"),
            message(h, "alice", "/我的"),
            message(h, "bob", "/签到"),
            message(h, "alice", "/签到"),
            message(h, "dave", "/签到榜"),
        ],
    )
    assert await h.bot.dispatcher.run_once() >= 5
    await h.bot.drain()
    said = "\n".join(h.new_lines())
    assert "alice 签到成功！今天第 2 位" in said and "bob 签到成功！今天第 3 位" in said
    assert "alice 今天已经签到过啦" in said
    board = said[said.index("carol") :] if "carol" in said else said
    assert board.index("carol") < board.index("alice") < board.index("bob")
    assert sorted(u for _, u in await checkins(h)) == ["alice", "bob", "carol"]


async def test_a_constraint_hit_reruns_the_batch_one_by_one(
    make_harness: MakeHarness, monkeypatch: Any
) -> None:
    """Bob's row for today appears after the batch read (another writer): the batch's insert
    fails, and the one-by-one rerun tells Bob he has checked in, once."""
    h = await make_harness(PLAIN)
    real = Checkins.load_days

    async def stale(self: Checkins, keys: list[Any]) -> None:
        await real(self, keys)
        if self._in_batch and keys:
            day = keys[0][2]
            async with h.bot.db.transaction() as s:  # the other writer (commits at once)
                s.add(Checkin(group_id="g1", user_id="bob", day=day, at=h.clock.now()))

    monkeypatch.setattr(Checkins, "load_days", stale)
    await store(h, [message(h, "alice", "/签到"), message(h, "bob", "/签到")])
    await h.bot.drain()
    said = "\n".join(h.new_lines())
    assert "alice 签到成功" in said and "bob 今天已经签到过啦" in said
    async with h.bot.db.read() as s:
        n = await s.scalar(
            select(func.count()).select_from(Checkin).where(Checkin.user_id == "bob")
        )
    assert n == 1
    assert sorted(u for _, u in await checkins(h)) == ["alice", "bob"]


async def test_the_batch_reads_and_writes_its_rows_without_the_orm_layer(
    make_harness: MakeHarness,
) -> None:
    """By-key reads, member counts and the batch's writes are Core statements run on the
    session's connection; each one through ``session.execute`` costs about double."""
    from bot.dispatch.batch import Batch
    from bot.dispatch.tracking import load_counts
    from storage.models import Member
    from storage.models_stats import StatsDaily

    h = await make_harness(PLAIN)
    db = h.bot.db
    now = h.clock.now()
    orm: list[Any] = []
    sql: list[str] = []
    async with db.batch_transaction() as session:
        event.listen(session.sync_session, "do_orm_execute", orm.append)
        event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *a: sql.append(a[2]))
        batch = Batch(session)
        try:
            await batch.preload(Member, [("g1", "u1"), ("g1", "u2")])
            assert await batch.get(Member, ("g1", "u1")) is None
            batch.new(
                Member, group_id="g1", user_id="u1", name="u1", in_group=True, first_seen_at=now
            )
            batch.memo[("members_in_group", "pending")] = {"g1"}
            await load_counts(batch)
            await batch.upsert_add(
                StatsDaily, {"group_id": "g1", "day": now.date()}, {"messages": 1}
            )
            await batch.flush()
        finally:
            batch.close()
    assert orm == []
    assert [s.split()[0].upper() for s in sql] == ["SELECT", "SELECT", "INSERT", "INSERT"], sql
