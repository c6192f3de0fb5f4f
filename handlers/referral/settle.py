"""The settlement job: one idempotent ``referral.settle`` event every 5 minutes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.jobs import every, submit

if TYPE_CHECKING:
    from bot.runtime import Bot

SETTLE_EVERY_S = 300


async def on_startup(bot: Bot) -> None:
    await submit(bot, "referral.settle", SETTLE_EVERY_S)
    every(bot, "referral.settle", SETTLE_EVERY_S)
