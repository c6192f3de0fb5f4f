"""Turning the programme into posts: ticks, catch-up after a restart, the scheduler job.

Rules:
- Every tick looks back over a short window and submits one event per due occurrence, keyed
  ``prog:<slot>:<group>:<time>``; the inbox's unique key and the ledger's unique constraint make
  overlapping windows, restarts and several instances harmless.
- On start, occurrences missed by less than the grace period are posted once, late; older
  ones (up to a day back) are recorded as skipped and reported to admins.
- One APScheduler job (``programme-tick``, in memory) drives the ticks: per-group timezones,
  holidays, campaigns and quiet hours are all answered by the same pure function, so there is
  no job per slot to keep in step with edits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.events import Scheduled
from schedules.due import Occurrence, occurrences

if TYPE_CHECKING:
    from bot.config import Config
    from bot.runtime import Bot

TICK_S = 30
WINDOW = timedelta(seconds=150)  # several ticks wide: a late tick still finds its occurrences
LOOKBACK = timedelta(days=1)


def due(
    config: Config, start: datetime, end: datetime, group: str | None = None
) -> list[Occurrence]:
    """All occurrences in ``[start, end)`` for every configured group (or one)."""
    from handlers.programme.config import ProgrammeConfig, group_views

    out: list[Occurrence] = []
    for view in group_views(config):
        if group is not None and view.id != group:
            continue
        cfg: ProgrammeConfig = config.feature("programme", view.id)
        if not cfg.enabled:
            continue
        out += occurrences(view, cfg.slots, cfg.campaigns, set(cfg.holidays), start, end)
    return sorted(out, key=lambda o: (o.at, o.group_id, o.slot.id))


def _event(job: str, occ: Occurrence, now: datetime, late: bool = False) -> Scheduled:
    prefix = "prog" if job == "programme.post" else "progskip"
    return Scheduled(
        dedup_key=f"{prefix}:{occ.key}",
        platform="internal",
        group_id=occ.group_id,
        occurred_at=now,
        job=job,
        data={
            "slot": occ.slot.id,
            "at": occ.at.isoformat(),
            "late": late,
            "campaign": occ.campaign,
        },
    )


async def tick(bot: Bot, now: datetime | None = None) -> int:
    """Submit every occurrence due in the last window; returns how many were new."""
    now = now or bot.clock.now()
    new = 0
    for occ in due(bot.config, now - WINDOW, now + timedelta(microseconds=1)):
        new += (await bot.inbox.submit(_event("programme.post", occ, now))).new
    return new


async def catch_up(bot: Bot, now: datetime | None = None) -> tuple[int, int]:
    """After a start: post what was missed within the grace period, skip older ones."""
    now = now or bot.clock.now()
    posted = skipped = 0
    for occ in due(bot.config, now - LOOKBACK, now):
        grace = timedelta(minutes=bot.config.feature("programme", occ.group_id).grace_minutes)
        if occ.at >= now - grace:
            ev = _event("programme.post", occ, now, late=occ.at < now - WINDOW)
            posted += (await bot.inbox.submit(ev)).new
        else:
            skipped += (await bot.inbox.submit(_event("programme.skip", occ, now))).new
    return posted, skipped


async def on_startup(bot: Bot) -> None:
    """Catch up, then tick every ``TICK_S`` seconds (a deterministic, in-memory job)."""
    await catch_up(bot)

    async def job() -> None:
        await tick(bot)

    bot.scheduler.add_job(
        job, "interval", seconds=TICK_S, id="programme-tick", replace_existing=True
    )
