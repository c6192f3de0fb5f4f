"""Periodic jobs that run through the inbox like any other event (a feature declares them as
``Feature.jobs``; the bot schedules them on the scheduler leader).

Rule: a periodic job submits ``Scheduled(job=…)`` keyed by its time slot, so however many
instances or timers fire within one slot, the inbox keeps one event and the handler runs once;
the handler itself must be safe to run any number of times.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.events import Scheduled

if TYPE_CHECKING:
    from bot.runtime import Bot


async def submit(bot: Bot, job: str, every_s: int) -> bool:
    """Queue ``job`` for the current slot; True when it was not queued yet."""
    now = bot.clock.now()
    slot = int(now.timestamp()) // every_s
    event = Scheduled(
        dedup_key=f"{job}:{slot}", platform="internal", group_id=None, occurred_at=now, job=job
    )
    return (await bot.inbox.submit(event)).new
