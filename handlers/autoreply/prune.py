"""Pruning what auto-replies keep only for a while (an hourly job on the scheduler leader).

Rules:
- AI requests that ended (answered, failed, budget, stale) more than ``KEEP_REQUESTS`` ago are
  deleted: each carries the prompt sent, needed only until its answer is posted. Pending or
  asking requests are never deleted.
- Cooldown rows older than ``KEEP_COOLDOWNS`` (longer than any cooldown, at most a day) and the
  budget counters of days older than ``KEEP_USAGE`` are deleted.
- The answers log (``autoreply_answers``) is kept: it is the hits per rule and day the stats and
  the dashboard show.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot import Context, Job, Router, Scheduled, submit
from handlers.autoreply.repo import Replies

if TYPE_CHECKING:
    from bot import Bot

router = Router("autoreply-prune")
PRUNE_JOB = "autoreply.prune"
KEEP_REQUESTS = timedelta(days=7)
KEEP_COOLDOWNS = timedelta(days=2)
KEEP_USAGE = timedelta(days=400)


async def prune_due(bot: Bot) -> bool:
    return await submit(bot, PRUNE_JOB)


JOB = Job("autoreply-prune", prune_due, every_s=3600)


@router.job(PRUNE_JOB)
async def prune(ctx: Context, ev: Scheduled) -> None:
    now = ctx.now()
    await ctx.repo(Replies).prune(
        now - KEEP_REQUESTS, now - KEEP_COOLDOWNS, (now - KEEP_USAGE).date()
    )
