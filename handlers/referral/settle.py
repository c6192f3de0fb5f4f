"""The settlement job: every few minutes, one ``referral.settle`` event (idempotent)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.events import Scheduled

if TYPE_CHECKING:
    from bot.runtime import Bot

SETTLE_EVERY_S = 300


async def submit_settle(bot: Bot) -> None:
    """Queue a settlement; the key is per 5-minute slot, so repeats in a slot are one event."""
    now = bot.clock.now()
    slot = int(now.timestamp()) // SETTLE_EVERY_S
    await bot.inbox.submit(
        Scheduled(
            dedup_key=f"referral.settle:{slot}",
            platform="internal",
            group_id=None,
            occurred_at=now,
            job="referral.settle",
        )
    )


async def on_startup(bot: Bot) -> None:
    await submit_settle(bot)

    async def job() -> None:
        await submit_settle(bot)

    bot.scheduler.add_job(
        job, "interval", seconds=SETTLE_EVERY_S, id="referral-settle", replace_existing=True
    )
