"""The wall clock steps back (NTP, an operator) while events wait in the inbox: retries end in
monotonic time, events stored just before the step are not held for its length, and a
restart on the stepped clock does not keep a deadline set before the step. With the fake
clock (wall and monotonic apart)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import select

from bot.dispatch.context import Context
from bot.dispatch.router import Router
from bot.events import MessageReceived
from storage.models import InboxEvent
from tests.fakes.clock import FakeClock
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
HOUR = timedelta(hours=1)


def flaky(h: Harness, failures: int) -> list[str]:
    """A router that fails the first ``failures`` runs, then answers; returns its run log."""
    runs: list[str] = []
    r = Router("flaky")

    @r.on(MessageReceived)
    async def answer(ctx: Context) -> None:
        runs.append("run")
        if len(runs) <= failures:
            raise RuntimeError("not yet")
        await ctx.reply("好的")

    h.bot.services.routers.insert(0, r)
    return runs


def message(h: Harness, text: str) -> MessageReceived:
    return MessageReceived(
        dedup_key=f"t:{uuid.uuid4().hex}",
        platform="console",
        group_id="g1",
        occurred_at=h.clock.now(),
        user_id="bob",
        user_name="bob",
        text=text,
        message_id=uuid.uuid4().hex[:10],
    )


async def status(h: Harness) -> list[tuple[str, int]]:
    async with h.bot.db.read() as s:
        rows = await s.execute(
            select(InboxEvent.status, InboxEvent.attempts)
            .where(InboxEvent.platform == "console")
            .order_by(InboxEvent.id)
        )
        return [(st, n) for st, n in rows.all()]


async def test_a_retry_ends_in_monotonic_time_after_a_backward_step(
    make_harness: MakeHarness,
) -> None:
    h = await make_harness()
    runs = flaky(h, failures=2)  # the batch's run, then its one-by-one run
    assert await h.say("bob", "你好") == []  # failed once: retried after 2 s
    assert await status(h) == [("queued", 1)]
    h.clock.step_wall(-HOUR)
    said = await h.advance(seconds=3)  # past the backoff in monotonic time
    assert said == ["[g1] 🤖 好的"] and len(runs) == 3
    assert await status(h) == [("done", 2)]


async def test_events_stored_before_a_backward_step_are_not_held(
    make_harness: MakeHarness,
) -> None:
    h = await make_harness()
    await h.bot.inbox.submit(message(h, "/帮助"))  # stored, not processed yet
    h.clock.step_wall(-HOUR)
    said = await h.advance(seconds=0)
    assert len(said) == 1 and "可用指令" in said[0]
    assert await status(h) == [("done", 1)]


async def test_a_restart_on_a_stepped_clock_keeps_no_old_deadline(
    make_harness: MakeHarness,
) -> None:
    first = await make_harness()
    flaky(first, failures=2)
    await first.say("bob", "你好")
    await first.bot.stop()
    assert await status(first) == [("queued", 1)]  # due 2 s after the old wall time
    clock = FakeClock(first.clock.now() - HOUR)  # the machine restarts an hour "earlier"
    second = await make_harness(clock=clock)
    said = await second.advance(seconds=0)  # (no failing router here; plain text: no answer)
    assert await status(second) == [("done", 2)], said
