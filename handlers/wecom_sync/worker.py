"""The WeCom background worker: member syncs, join codes, templates, the nightly reconcile.

Rules:
- Runs only where ``[wecom] corp_id`` and ``secret`` are set, ``[wecom.sync] enabled`` is true
  and the process runs workers — and only on the scheduler leader. All WeCom API calls
  happen here, outside any event's transaction: handlers only write requests down.
- Each round serves due sync requests, then pending join codes; a failing round is logged and
  retried on the next one. On start: the welcome templates are synced and (``reconcile_on_start``)
  a full reconcile is queued; every night at ``reconcile_at`` (bot timezone) a full reconcile
  runs and unused join codes are cleaned up.
- A standing WeCom problem (e.g. 60020, untrusted IP) shows in ``/healthz`` details.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from bot import HEALTH_DETAILS, StateKey
from bot.wecom_api import WeComClient, client_for
from handlers.wecom_sync import joincodes, sync, welcome_template

if TYPE_CHECKING:
    from bot import Bot

log = logging.getLogger("groupbot.wecom")
POLL_S = 1.0
# the background loop of this process (started by on_startup, stopped by on_shutdown)
TASK: StateKey[asyncio.Task[None]] = StateKey("wecom_worker_task")


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
    """Templates in step and, if configured, a reconcile for this start (hour slot)."""
    c = client(bot)
    if c is None:
        return
    if bot.config.wecom.sync.welcome_template:
        await welcome_template.sync_templates(bot, c)
    if bot.config.wecom.sync.reconcile_on_start:
        hour = bot.clock.now().strftime("%Y-%m-%dT%H")
        await sync.request_reconcile(bot, c, f"start:{hour}")


def leading(bot: Bot) -> bool:
    """Only the scheduler leader talks to WeCom (bot/leader.py), so instances sharing a
    database neither double the API calls nor make a member's join code twice."""
    lease = getattr(bot, "leader", None)
    return lease is None or bool(lease.is_leader)


async def _loop(bot: Bot) -> None:
    started = False
    while True:
        try:
            if leading(bot):
                if not started:
                    started = True
                    await on_start(bot)
                await run_once(bot)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("wecom worker round failed")
        await asyncio.sleep(POLL_S)


async def on_startup(bot: Bot) -> None:
    if client(bot) is None:
        return
    hh, mm = bot.config.wecom.sync.reconcile_at.split(":")

    async def night() -> None:
        try:
            await nightly(bot)
        except Exception:
            log.exception("wecom nightly reconcile failed")

    bot.scheduler.add_job(
        night, "cron", hour=int(hh), minute=int(mm), id="wecom.reconcile", replace_existing=True
    )
    if bot.workers:
        bot.services.state.set(TASK, asyncio.create_task(_loop(bot), name="wecom"))


async def on_shutdown(bot: Bot) -> None:
    task = bot.services.state.pop(TASK)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
