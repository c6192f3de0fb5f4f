"""Turning the programme into events: the tick, the catch-up after a start, the job.

Rules:
- Every tick covers the span since the previous one (``schedules.window``) and submits one
  ``Scheduled`` event per due occurrence, keyed by the occurrence; the inbox's unique key and
  the ledger's unique constraint make overlapping spans, restarts and several instances
  harmless.
- Within the group's grace period an occurrence is posted (late if need be); older ones are
  recorded as skipped and reported to admins. This holds for the start-up catch-up (looking
  back up to a day) and, the same way, for a running process whose clock jumped forward.
- Nothing before the bot's first start on this database (``bot.first_start``) counts as
  missed.
- One periodic job (``programme-tick``, every ``TICK_S`` seconds of monotonic time on the
  scheduler leader, bot/jobs.py) drives the ticks: per-group timezones, holidays, campaigns
  and quiet hours are all answered by the same pure function, so there is no job per slot to
  keep in step with edits. The occurrences' times come from the wall clock (a post at 10:00
  is due when the wall says 10:00); only the waking up runs on the monotonic clock, so a wall
  clock stepped back delays nothing that is due by the wall clock.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot import Job, Scheduled, StateKey, record_first_start
from handlers.programme.config import ProgrammeConfig
from handlers.programme.slots import due, load_overrides, occurrence_key
from schedules.due import Occurrence
from schedules.window import Ticker, Verdict, verdict
from storage.models_programme import ProgrammeOccurrence

if TYPE_CHECKING:
    from bot import Bot

TICK_S = 30
WINDOW = timedelta(seconds=150)  # several ticks wide: a late tick still finds its occurrences
LOOKBACK = timedelta(days=1)
# when this process last looked for due occurrences: in-process state, nothing to persist
# (a restart catches up from the ledger and the first start)
TICKER: StateKey[Ticker] = StateKey("programme.ticker", lambda: Ticker(WINDOW, LOOKBACK))


def ticker(bot: Bot) -> Ticker:
    return bot.services.state.need(TICKER)


def _event(occ: Occurrence, now: datetime, v: Verdict) -> Scheduled:
    key = occurrence_key(occ.slot.id, occ.group_id, occ.at)
    skip = v is Verdict.MISSED
    return Scheduled(
        dedup_key=("progskip" + key[4:]) if skip else key,
        platform="internal",
        group_id=occ.group_id,
        occurred_at=now,
        job="programme.skip" if skip else "programme.post",
        data={
            "slot": occ.slot.id,
            "at": occ.at.isoformat(),
            "late": v is Verdict.LATE,
            "campaign": occ.campaign,
        },
    )


async def _submit(bot: Bot, start: datetime, end: datetime, now: datetime) -> tuple[int, int]:
    """Submit every occurrence in ``[start, end)`` not yet in the ledger; returns (new posts,
    new skips). Those already there would be refused by their keys anyway: leaving them out
    spares the inbox the overlapping part of every window."""
    ledger = ProgrammeOccurrence
    async with bot.db.read() as s:
        ov = await load_overrides(s)
        cols = (ledger.slot_id, ledger.group_id, ledger.at)
        span = (ledger.at >= start, ledger.at < end)
        claimed = {tuple(r) for r in (await s.execute(select(*cols).where(*span))).all()}
    events = []
    for occ in due(bot.config, start, end, overrides=ov):
        if (occ.slot.id, occ.group_id, occ.at) in claimed:
            continue
        grace = timedelta(minutes=bot.config.feature(ProgrammeConfig, occ.group_id).grace_minutes)
        events.append(_event(occ, now, verdict(occ.at, now, grace, WINDOW)))
    # submitted together, the inbox stores them in a few group commits
    stored = await asyncio.gather(*(bot.inbox.submit(e) for e in events))
    posted = sum(
        1 for e, st in zip(events, stored, strict=True) if st.new and e.job.endswith("post")
    )
    return posted, sum(1 for st in stored if st.new) - posted


async def tick(bot: Bot, now: datetime | None = None) -> int:
    """Submit what fell due since the last tick; returns how many new events that made."""
    now = now or bot.clock.now()
    start, end = ticker(bot).span(now)
    return sum(await _submit(bot, start, end, now))


async def catch_up(bot: Bot, now: datetime | None = None) -> tuple[int, int]:
    """After a start: post what was missed within the grace period, skip older ones."""
    now = now or bot.clock.now()
    since = await record_first_start(bot.db, now)
    result = await _submit(bot, max(now - LOOKBACK, since), now, now)
    ticker(bot).caught_up(now)
    return result


async def on_startup(bot: Bot) -> None:
    """Catch up on what fell due while no process ran (the ticks are ``JOB``)."""
    await catch_up(bot)


JOB = Job("programme-tick", tick, TICK_S)
