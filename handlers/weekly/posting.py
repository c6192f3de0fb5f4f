"""Posting the weekly summary: exactly once per week, at the configured time.

Rules:
- The ``weekly.tick`` job (every ``TICK_S`` seconds of monotonic time, at start too, leader
  only) works out from the wall clock the latest due time (``[weekly] weekday`` and ``time``,
  bot timezone) and the week it covers. Within ``grace_hours`` after it, and unless that week
  was posted already, it submits one ``weekly.post`` event keyed ``weekly:{week}`` — the
  inbox's unique key makes the submissions of every tick, restart and instance one event.
  Past the grace the week is not posted (the bot was down too long); its summary can still be
  downloaded.
- The handler claims the week in ``weekly_posts`` (primary key: the week) in the same
  transaction as the posts, outbox rows keyed ``weekly:{week}:{group}``: a second event for the
  week, a re-run or a second instance finds the claim taken and posts nothing.
- The figures are read when the event is handled (``WeeklyPosts.report``).
- The wall clock is believed, whichever way it is stepped: a week already posted is never
  posted again (a step back over the due time passes it a second time: nothing happens), and
  a due time the clock is stepped onto is handled as if reached (within the grace). No
  posted week holds back another: a clock set far ahead and corrected delays nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import Context, Router, Scheduled
from handlers.weekly.config import WeeklyConfig, targets
from handlers.weekly.repo import WeeklyPosts
from handlers.weekly.text import compose
from handlers.weekly.weeks import BadWeek, in_grace, last_due, parse_week, week_for

if TYPE_CHECKING:
    from bot import Bot

log = logging.getLogger("groupbot.weekly")
router = Router("weekly")
POST_JOB = "weekly.post"
TICK_S = 60.0


async def tick(bot: Bot) -> None:
    """``weekly.tick``: submit the due week's post event (module rules)."""
    cfg = bot.config.feature(WeeklyConfig)
    if not cfg.enabled:
        return
    now = bot.clock.now()
    tz = bot.config.timezone(None)
    due = last_due(now, tz, cfg.weekday, cfg.time)
    if not in_grace(now, due, timedelta(hours=cfg.grace_hours)):
        return
    week = week_for(due, tz).name
    async with bot.db.read() as s:
        if await WeeklyPosts(s).posted(week) is not None:
            return
    await bot.inbox.submit(
        Scheduled(
            dedup_key=f"weekly:{week}",
            platform="internal",
            group_id=None,
            occurred_at=now,
            job=POST_JOB,
            data={"week": week, "due_at": due.isoformat()},
        )
    )


@router.job(POST_JOB)
async def on_scheduled(ctx: Context, ev: Scheduled) -> None:
    try:
        week = parse_week(str(ev.data.get("week", "")))
        due_at = datetime.fromisoformat(str(ev.data.get("due_at", "")))
    except (BadWeek, ValueError):
        log.warning("weekly.post: bad event data %r", ev.data)
        return
    posts = ctx.repo(WeeklyPosts)
    to = targets(ctx.config)
    if not ctx.feature(WeeklyConfig).enabled or not to:
        return
    if await posts.posted(week.name) is not None:
        return
    report = await posts.report(ctx.config, ctx.now(), week)
    if not await posts.claim(week.name, due_at, ctx.now(), to):
        return
    text = compose(ctx.config, report)
    for gid in to:
        await ctx.send(gid, text, idem_key=f"weekly:{week.name}:{gid}")
