"""Repositories (bot/repository.py): one interface in a dispatcher batch and outside it.

Rules checked:
- The same repository calls read and write at once outside a batch (a job, the web) and
  through the batch inside one; what a call wrote is what the next call reads, in both.
- A batch has one instance of each repository, so its events share what it read.
- The features' repositories that declare a preload are the ones the dispatcher runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from bot.dispatch.batch import Batch
from handlers.checkin import Checkins, Totals
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
DAY = date(2026, 11, 18)


async def write_and_read(repo: Checkins, h: Harness) -> tuple[Totals, bool, int, int]:
    assert not await repo.has_day("g1", "u1", DAY)
    await repo.record("g1", "u1", DAY, at=h.clock.now(), points=10, streak=1)
    t = await repo.save_totals("g1", "u1", Totals(total_days=1, streak=1, points=10, cards=2))
    t = await repo.add_cards("g1", "u1", -1)
    return (
        await repo.totals("g1", "u1"),
        await repo.has_day("g1", "u1", DAY),
        await repo.count_one("g1", DAY),
        t.cards,
    )


async def test_the_same_calls_in_a_batch_and_at_once(make_harness: MakeHarness) -> None:
    h = await make_harness({})
    async with h.bot.db.transaction() as session:  # at once (a job, a web route)
        alone = await write_and_read(Checkins(session), h)
    async with h.bot.db.transaction() as session:
        again = await Checkins(session).totals("g1", "u1")  # committed
    await wipe(h)
    async with h.bot.db.batch_transaction() as session:  # the dispatcher's batch
        batch = Batch(session)
        try:
            repo = Checkins.shared(batch)
            assert Checkins.shared(batch) is repo
            batched = await write_and_read(repo, h)
            await batch.flush()
        finally:
            batch.close()
    async with h.bot.db.transaction() as session:
        written = await Checkins(session).totals("g1", "u1")
    expected = Totals(total_days=1, streak=1, points=10, cards=1)
    assert alone == batched == (expected, True, 1, 1)
    assert again == written == expected


async def wipe(h: Harness) -> None:
    from sqlalchemy import delete

    from storage.models_checkin import Checkin, CheckinDayCount, CheckinStats

    async with h.bot.db.transaction() as session:
        for model in (Checkin, CheckinDayCount, CheckinStats):
            await session.execute(delete(model))


async def test_the_features_preloads_are_the_dispatchers(make_harness: MakeHarness) -> None:
    h = await make_harness({})
    assert Checkins in h.bot.services.preloaders
    assert all(r.preloads() for r in h.bot.services.preloaders)
