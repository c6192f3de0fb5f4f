"""The AI worker: asks the model for the questions written down, outside every event.

Rules:
- Runs in each process that runs workers, when some group enables ``[autoreply.ai]``. Several
  instances may run it: a request is claimed by one conditional UPDATE (pending → asking, or
  asking whose lease ran out), so one worker asks for it.
- At most ``concurrency`` calls are in flight; each is bounded by ``timeout_s`` (the event
  loop's monotonic timer). A slow or failing endpoint only occupies the worker: events,
  replies and the other features run on.
- A call first takes one unit of the day's budget (bot timezone; a conditional UPDATE below
  ``daily_budget``). With the budget spent the request ends as ``budget``, nothing is called,
  and the admins are told once that day.
- A timeout, an HTTP error or an answer without text ends the request as ``failed`` with a
  warning in the log naming the request, group and reason; nothing is posted.
- A request that waited longer than ``STALE`` (the bot was down) ends as ``stale``; one whose
  claim ran out twice (a worker died while asking) ends as ``failed``.
- The answer goes back through the inbox (``requests.ANSWER_JOB``, dedup key
  ``autoreply:ai:{request key}``). A worker that dies between the call and that leaves the
  claim to run out and the question to be asked again; the key keeps the answer single.
- The body is the JSON chat messages built by ``logic.prompt``; the URL is the operator's
  ``base_url`` plus ``/chat/completions``. Member text never reaches a URL or a header.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
from sqlalchemy import and_, or_, select, update

from bot import Scheduled, StateKey
from handlers.autoreply.config import AiConfig, AutoreplyConfig
from handlers.autoreply.logic import answer_of
from handlers.autoreply.requests import ANSWER_JOB, BUDGET_JOB, WAKE
from storage.dialect import insert_ignore, rowcount
from storage.models_autoreply import AutoreplyAiRequest as R
from storage.models_autoreply import AutoreplyAiUsage

if TYPE_CHECKING:
    from bot import Bot

log = logging.getLogger("groupbot.autoreply")
POLL_S = 1.0
STALE = timedelta(minutes=10)
LEASE_MARGIN = timedelta(seconds=30)
TASK: StateKey[asyncio.Task[None]] = StateKey("autoreply.ai.task")


class ModelError(Exception):
    """The endpoint answered, but not with a usable answer."""


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    key: str
    group_id: str
    event_id: int
    messages: list[Any]
    ai: AiConfig


def enabled(bot: Bot) -> bool:
    """Whether any group (or the top-level section) enables the AI answer."""
    cfg = bot.config
    sections = [cfg.feature(AutoreplyConfig)] + [
        cfg.feature(AutoreplyConfig, g.id) for g in cfg.groups
    ]
    return any(s.ai.enabled for s in sections)


async def claim(bot: Bot) -> tuple[bool, Claimed | None]:
    """Claim the oldest open request: (found one, what to ask — None when it ended here)."""
    now = bot.clock.now()
    due = or_(R.status == "pending", and_(R.status == "asking", R.lease_until < now))
    async with bot.db.transaction() as s:
        row = await s.scalar(select(R).where(due).order_by(R.id).limit(1))
        if row is None:
            return False, None
        ai = bot.config.feature(AutoreplyConfig, row.group_id).ai
        took = update(R).where(R.id == row.id, due)
        took = took.values(
            status="asking",
            attempts=R.attempts + 1,
            lease_until=now + timedelta(seconds=ai.timeout_s) + LEASE_MARGIN,
        )
        if rowcount(await s.execute(took)) != 1:
            return True, None  # another worker took it
        ended = _ended(row, ai, now)
        if ended is None and not await _take_budget(s, bot, ai):
            ended = ("budget", f"daily budget of {ai.daily_budget} calls spent")
        if ended is not None:
            await s.execute(
                update(R)
                .where(R.id == row.id)
                .values(status=ended[0], reason=ended[1], finished_at=now)
            )
    if ended is None:
        return True, Claimed(row.id, row.key, row.group_id, row.event_id, row.messages, ai)
    if ended[0] == "budget":
        await _budget_spent(bot, row.group_id, ai)
    return True, None


def _ended(row: R, ai: AiConfig, now: Any) -> tuple[str, str] | None:
    if not ai.enabled:
        return ("failed", "AI answers are off for this group")
    if row.created_at < now - STALE:
        return ("stale", f"waited longer than {STALE}")
    if row.attempts >= 2:
        return ("failed", "a worker stopped twice while asking")
    return None


async def _take_budget(s: Any, bot: Bot, ai: AiConfig) -> bool:
    day = bot.clock.now().astimezone(bot.config.timezone()).date()
    usage = AutoreplyAiUsage.__table__
    await s.execute(insert_ignore(s, usage, ["day"]).values(day=day, calls=0))
    took = (
        update(usage)
        .where(usage.c.day == day, usage.c.calls < ai.daily_budget)
        .values(calls=usage.c.calls + 1)
    )
    return rowcount(await s.execute(took)) == 1


async def _budget_spent(bot: Bot, group_id: str, ai: AiConfig) -> None:
    now = bot.clock.now()
    day = now.astimezone(bot.config.timezone()).date()
    event = Scheduled(
        dedup_key=f"autoreply:budget:{day.isoformat()}",
        platform="internal",
        group_id=group_id,
        occurred_at=now,
        job=BUDGET_JOB,
    )
    if (await bot.inbox.submit(event)).new:
        log.warning("autoreply: the AI budget of %s calls for %s is spent", ai.daily_budget, day)


async def call_model(http: aiohttp.ClientSession, ai: AiConfig, messages: list[Any]) -> str:
    """One chat completion; raises TimeoutError, aiohttp.ClientError or ModelError."""
    body = {"model": ai.model, "messages": messages, "max_tokens": ai.max_tokens}
    headers = {"Authorization": f"Bearer {ai.api_key}"} if ai.api_key else {}
    async with (
        asyncio.timeout(ai.timeout_s),
        http.post(
            f"{ai.base_url}/chat/completions", json=body, headers=headers, allow_redirects=False
        ) as resp,
    ):
        if resp.status != 200:
            raise ModelError(f"HTTP {resp.status}")
        try:
            data = await resp.json(content_type=None)
        except ValueError as exc:
            raise ModelError(f"unreadable answer: {exc}") from None
    text = answer_of(data)
    if text is None:
        raise ModelError("the answer has no text")
    return text


async def serve(bot: Bot, job: Claimed) -> None:
    """Ask the model for one claimed request and hand the answer back (or end it failed)."""
    assert bot.http is not None
    try:
        text = await call_model(bot.http, job.ai, job.messages)
    except TimeoutError:
        reason = f"the model did not answer within {job.ai.timeout_s:g} s"
    except (aiohttp.ClientError, ModelError) as exc:
        reason = f"the model call failed: {type(exc).__name__}: {exc}"[:500]
    else:
        event = Scheduled(
            dedup_key=f"autoreply:ai:{job.key}",
            platform="internal",
            group_id=job.group_id,
            occurred_at=bot.clock.now(),
            job=ANSWER_JOB,
            data={"request": job.id, "answer": text},
        )
        await bot.inbox.submit(event)
        return
    log.warning(
        "autoreply: no AI answer for request %s (group %s, event %s): %s; nothing is posted",
        job.id,
        job.group_id,
        job.event_id,
        reason,
    )
    async with bot.db.transaction() as s:
        await s.execute(
            update(R)
            .where(R.id == job.id, R.status == "asking")
            .values(status="failed", reason=reason, finished_at=bot.clock.now())
        )


async def run_pending(bot: Bot) -> int:
    """Serve every open request now, waiting for each call (tests, ``groupbot chat``)."""
    n = 0
    while True:
        found, job = await claim(bot)
        if not found:
            return n
        n += 1
        if job is not None:
            await serve(bot, job)


async def _serve_logged(bot: Bot, job: Claimed) -> None:
    try:
        await serve(bot, job)
    except Exception:  # the claim runs out and the question is asked again
        log.exception("autoreply: AI request %s failed in the worker", job.id)


async def _loop(bot: Bot) -> None:
    wake = bot.services.state.need(WAKE)
    limit = bot.config.feature(AutoreplyConfig).ai.concurrency
    busy: set[asyncio.Task[None]] = set()

    def done(task: asyncio.Task[None]) -> None:
        busy.discard(task)
        wake.set()

    try:
        while True:
            wake.clear()
            try:
                while len(busy) < limit:
                    found, job = await claim(bot)
                    if not found:
                        break
                    if job is not None:
                        task = asyncio.create_task(_serve_logged(bot, job), name="autoreply-ai")
                        busy.add(task)
                        task.add_done_callback(done)
            except Exception:
                log.exception("autoreply: AI worker round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=POLL_S)
    finally:  # stopping: calls in flight are dropped; their claims run out
        for task in list(busy):
            task.cancel()


async def on_startup(bot: Bot) -> None:
    if bot.workers and enabled(bot):
        bot.services.state.set(TASK, asyncio.create_task(_loop(bot), name="autoreply-ai"))


async def on_shutdown(bot: Bot) -> None:
    task = bot.services.state.pop(TASK)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
