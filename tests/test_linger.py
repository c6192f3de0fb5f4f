"""The dispatcher lets events gather after a quiet spell (``[bot] dispatch_linger_ms``), so at
everyday load several events share one batch's fixed cost — and a burst never waits for it.

A started bot (real loops and clock) with the idle poll set to an hour: every batch below was
started by a store's wake-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import loops, runtime
from bot.runtime import LINGER_ENOUGH, Bot
from tests.harness import make_config
from tests.test_loops import message, until

BOUND_S = 0.5  # well under the 1 s linger these tests set: "did not wait it out"


async def queued(bot: Bot) -> int:
    async with bot.db.read() as s:
        return int(
            (
                await s.execute(text("SELECT count(*) FROM inbox WHERE status = 'queued'"))
            ).scalar_one()
        )


async def started(tmp_path: Path, linger_ms: int, batches: list[int]) -> Bot:
    """A started bot whose start-up events (the jobs' first ticks) are processed; ``batches``
    and ``dispatcher.processed`` start from zero."""
    b = Bot(
        make_config(tmp_path, {"bot": {"dispatch_linger_ms": linger_ms}}),
        migrate=False,
        console_sink=lambda _line: None,
    )
    await b.db.create_all()
    await b.start()
    for _ in range(int(10 / 0.05)):
        await asyncio.sleep(0.05)
        if b.dispatcher.processed and await queued(b) == 0:
            break
    batches.clear()
    b.dispatcher.processed = 0
    return b


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch the dispatcher takes (empty looks left out)."""
    monkeypatch.setattr(loops, "IDLE_POLL_S", 3600.0)
    sizes: list[int] = []
    run_once = runtime.Dispatcher.run_once

    async def counted(self: runtime.Dispatcher, limit: int | None = None) -> int:
        n = await run_once(self, limit)
        if n:
            sizes.append(n)
        return n

    monkeypatch.setattr(runtime.Dispatcher, "run_once", counted)
    return sizes


@pytest.fixture
async def lingering(tmp_path: Path, batches: list[int]) -> AsyncIterator[Bot]:
    b = await started(tmp_path, 1000, batches)
    yield b
    await b.stop()


async def test_events_stored_within_the_linger_share_one_batch(
    tmp_path: Path, batches: list[int]
) -> None:
    bot = await started(tmp_path, 1000, batches)
    try:
        for i in range(3):
            await bot.inbox.submit(message(f"e{i}", f"hello {i}", user=f"u{i}"))
            await asyncio.sleep(0.02)
        await until(lambda: bot.dispatcher.processed == 3)
        assert batches == [3]
    finally:
        await bot.stop()


async def test_without_a_linger_each_event_runs_alone(tmp_path: Path, batches: list[int]) -> None:
    bot = await started(tmp_path, 0, batches)
    try:
        for i in range(3):
            await bot.inbox.submit(message(f"e{i}", f"hello {i}", user=f"u{i}"))
            await until(lambda i=i: bot.dispatcher.processed == i + 1)
        assert batches == [1, 1, 1]
    finally:
        await bot.stop()


async def test_a_burst_does_not_wait_out_the_linger(lingering: Bot, batches: list[int]) -> None:
    bot = lingering
    n = LINGER_ENOUGH + 4
    await asyncio.gather(*(bot.inbox.submit(message(f"b{i}", "hi", f"u{i}")) for i in range(n)))
    await until(lambda: bot.dispatcher.processed == n)
    assert sum(batches) == n
    # enough stored: the wait ends at once; after a big batch the next one does not wait at all
    bot._stored_since = LINGER_ENOUGH
    await asyncio.wait_for(bot._linger(last_batch=1), BOUND_S)
    bot._stored_since = 0
    await asyncio.wait_for(bot._linger(last_batch=LINGER_ENOUGH), BOUND_S)
    with pytest.raises(TimeoutError):  # a lone event after a quiet one does wait
        await asyncio.wait_for(bot._linger(last_batch=1), BOUND_S)


async def test_stopping_ends_a_linger_and_loses_nothing(lingering: Bot) -> None:
    bot = lingering
    await bot.inbox.submit(message("s1", "/签到"))
    await bot.stop()  # during the linger: the stop finishes what was accepted
    assert bot.dispatcher.processed == 1


async def test_an_awaited_answer_ends_the_linger(lingering: Bot, batches: list[int]) -> None:
    """A request that waits for an event's outcome (a passive reply) calls ``hurry``: the
    event is handled at once, not after the linger (1 s here)."""
    bot = lingering
    await bot.inbox.submit(message("w1", "/签到"))
    bot.hurry()
    await asyncio.wait_for(until(lambda: bot.dispatcher.processed == 1), BOUND_S)
    assert batches == [1]
