"""The dispatch and delivery loops of an instance that processes events.

Rules:
- What this process stores wakes the dispatch loop at once (``Bot._on_stored``), and a batch
  that queued messages wakes the delivery loop; neither loop polls while woken.
- When nothing woke them for ``IDLE_POLL_S``, the loops look anyway (events and messages
  stored by other processes, retries coming due) — first with one cheap read (``anything_due``),
  and only when it finds work with a batch or a delivery round.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.runtime import Bot

log = logging.getLogger("groupbot")
# the loops look anyway this often when nothing woke them (events and messages stored by
# other processes, retries coming due); everything stored here wakes them at once
IDLE_POLL_S = 1.0


async def dispatch_loop(bot: Bot) -> None:
    """Batches of due events, each after the linger (``Bot._linger``) when woken by a store."""
    last_batch = 0
    while not bot._stopping:
        idle = False
        try:
            await wait_set(bot._dispatch_wake, IDLE_POLL_S)
            await bot._linger(last_batch)  # (woken by a store: its batch-mates may follow)
        except TimeoutError:
            idle = True  # the idle look: what other processes stored, retries come due
        bot._dispatch_wake.clear()
        try:
            if idle and not await bot.dispatcher.anything_due():
                continue
            # until a batch takes all that is due: a further look would find nothing
            # (what is stored meanwhile sets the wake-up again)
            while True:
                bot._stored_since = 0
                bot._gathered.clear()
                taken = await bot.dispatcher.run_once()
                if not taken:
                    break
                last_batch = taken
                if bot.dispatcher.queued_outbox:  # (a batch that queued nothing: no look)
                    bot._outbox_wake.set()
                if bot.dispatcher.drained:
                    break
        except Exception:
            log.exception("dispatch loop error")
            await asyncio.sleep(1)


async def outbox_loop(bot: Bot) -> None:
    """Delivery rounds: when a batch queued messages, when a held row comes due, or on the
    idle look."""
    assert bot.outbox is not None
    idle = False
    while not bot._stopping:
        try:
            # the idle look (nothing woke the loop, nothing known to wait): ask first
            look_first = idle and not bot.outbox.waiting
            if not look_first or await bot.outbox.anything_due():
                await bot.outbox.run_once()
            # nothing left queued that the run knew of: no query for the next due time
            wait = await bot.outbox.next_due_in() if bot.outbox.waiting else None
        except Exception:
            log.exception("outbox loop error")
            wait = 1.0
        timeout = IDLE_POLL_S if wait is None else min(IDLE_POLL_S, max(wait, 0.01))
        try:
            await wait_set(bot._outbox_wake, timeout)
            idle = False
        except TimeoutError:
            idle = True
        bot._outbox_wake.clear()


async def wait_set(event: asyncio.Event, seconds: float) -> None:
    """``event.wait()`` for at most ``seconds`` (then TimeoutError) in the caller's own task:
    ``wait_for`` would make a task of it, and the loops wait several times per batch."""
    async with asyncio.timeout(seconds):
        await event.wait()
