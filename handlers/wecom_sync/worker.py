"""The WeCom side's periodic work: member syncs, join codes, templates, the nightly reconcile.

Rules:
- Two periodic jobs (``Feature.jobs``, run by the core on the monotonic clock and only on the
  scheduler leader, bot/jobs.py), so instances sharing a database neither double the API calls
  nor make a member's join code twice. They do something only where ``[wecom] corp_id`` and
  ``secret`` are set and ``[wecom.sync] enabled`` is true. All WeCom API calls happen here,
  outside any event's transaction: handlers only write requests down.
- ``wecom.round`` (every ``POLL_S`` seconds, where the process runs workers) serves due sync
  requests, then pending join codes; a failing round is logged and retried on the next one.
  The first round an instance runs as leader syncs the welcome templates and
  (``reconcile_on_start``) queues a full reconcile, keyed by this start.
- ``wecom.nightly`` (every ``NIGHT_CHECK_S``) computes the last ``reconcile_at`` (bot timezone)
  from the wall clock: when one passed since its previous look, a full reconcile keyed by that
  night's date is queued and unused join codes are cleaned up. A wall clock stepped back
  repeats no night (its key is taken); one stepped forward over a night runs it once.
- A standing WeCom problem (e.g. 60020, untrusted IP) shows in ``/healthz`` details.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from bot import HEALTH_DETAILS, Job, StateKey
from bot.wecom_api import WeComClient, client_for
from handlers.wecom_sync import joincodes, sync, welcome_template

if TYPE_CHECKING:
    from bot import Bot

log = logging.getLogger("groupbot.wecom")
POLL_S = 1.0
NIGHT_CHECK_S = 60.0
# this process ran the start-up work of its first round as leader
STARTED: StateKey[bool] = StateKey("wecom.started", bool)
# the last nightly reconcile time the nightly job has seen pass (None: not looked yet)
LAST_NIGHT: StateKey[datetime] = StateKey("wecom.last_night")


def client(bot: Bot) -> WeComClient | None:
    """The WeCom client when the sync feature is on, else None."""
    if not bot.config.wecom.sync.enabled:
        return None
    c = client_for(bot)
    if c is not None:
        bot.services.state.need(HEALTH_DETAILS)["wecom"] = lambda: c.problem or "ok"
    return c


async def run_once(bot: Bot) -> int:
    """One round: due syncs and pending join codes; returns how much was done."""
    c = client(bot)
    if c is None:
        return 0
    n = await sync.run_due(bot, c)
    n += await joincodes.make_pending(bot, c)
    return n


async def nightly(bot: Bot, slot: str | None = None) -> None:
    """Queue a full reconcile and clean up unused join codes."""
    c = client(bot)
    if c is None:
        return
    day = bot.clock.now().astimezone(bot.config.timezone(None)).date().isoformat()
    await sync.request_reconcile(bot, c, slot or day)
    await joincodes.cleanup(bot, c)


async def on_start(bot: Bot) -> None:
    """Templates in step and, if configured, a reconcile for this start."""
    c = client(bot)
    if c is None:
        return
    if bot.config.wecom.sync.welcome_template:
        await welcome_template.sync_templates(bot, c)
    if bot.config.wecom.sync.reconcile_on_start:
        # keyed by this start (a wall-time hour could come again after a backward step)
        await sync.request_reconcile(bot, c, f"start:{bot.jobs.token}")


async def round_job(bot: Bot) -> None:
    """``wecom.round``: start-up work once, then due syncs and pending join codes."""
    if not bot.workers or client(bot) is None:
        return
    state = bot.services.state
    if not state.need(STARTED):
        state.set(STARTED, True)
        await on_start(bot)
    await run_once(bot)


def last_night(now: datetime, at: str, bot: Bot) -> datetime:
    """The latest ``at`` (``"HH:MM"``, bot timezone) at or before ``now``."""
    tz = bot.config.timezone(None)
    local = now.astimezone(tz)
    hh, mm = (int(x) for x in at.split(":"))
    night = datetime.combine(local.date(), time(hh, mm), tzinfo=tz)
    return night if night <= local else night - timedelta(days=1)


async def nightly_job(bot: Bot) -> None:
    """``wecom.nightly``: the nightly reconcile once a ``reconcile_at`` has passed since the
    previous look (the first look only notes where the night stands)."""
    if client(bot) is None:
        return
    night = last_night(bot.clock.now(), bot.config.wecom.sync.reconcile_at, bot)
    seen = bot.services.state.get(LAST_NIGHT)
    if seen is not None and night <= seen:
        return  # not yet, or a wall clock stepped back (that night ran already)
    bot.services.state.set(LAST_NIGHT, night)
    if seen is not None:
        await nightly(bot, night.date().isoformat())


JOBS = (
    Job("wecom.round", round_job, POLL_S),
    Job("wecom.nightly", nightly_job, NIGHT_CHECK_S, at_start=True),
)
