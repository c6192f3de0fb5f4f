"""Fan-out: a due broadcast becomes one outbox message per group, exactly once.

Rules:
- Fan-out runs as a ``Scheduled`` event through the inbox, like every job: right after a
  broadcast for now is stored (``broadcast.fanout``), and every ``EVERY_S`` seconds for
  broadcasts whose time has come (``broadcast.due``, the feature's periodic job — it also
  picks up a fan-out a crash interrupted).
- One event queues at most ``CHUNK`` groups in its transaction, then hands the rest to a
  follow-up event (keyed by the last group it did), so a large broadcast never holds the
  write lock long and a crash loses nothing: what committed is done, the rest is still
  ``scheduled``.
- A group is claimed (``scheduled`` → ``queued``) before its message is queued, and the
  message's outbox key is ``bc:{broadcast}:{group}``: a re-run, a second instance or a
  cancel racing the fan-out can neither queue a group twice nor queue a cancelled one.
- An image goes as the outbox's ``image`` row keyed ``bc:{broadcast}:{group}:img``, queued
  after the text parts in the same transaction (so the caption is sent first).
- A WeCom customer group without a robot (``handlers.groupmsg``) is handed over under the
  same key: an ``official`` broadcast as 企业群发 within the caps, else a staff reminder; an
  image rides along as a ``link`` attachment (title: the caption or "图片"), never downloaded.
- A group that is inactive (the bot left or was removed: ``group_active``), or whose text
  cannot be filled, is ``failed`` with the reason; the other groups go. Pacing per robot key,
  retries and dead letters are the outbox's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import Context, Router, Scheduled, group_active, submit
from handlers.broadcast.logic import RenderError, render, values_for
from handlers.broadcast.repo import image_key, outbox_key
from handlers.broadcast.store import Fanout, Todo
from handlers.groupmsg import hand_over

if TYPE_CHECKING:
    from bot import Bot

DUE_JOB = "broadcast.due"
FANOUT_JOB = "broadcast.fanout"
SCHEDULER_ID = "broadcast-due"
EVERY_S = 10
CHUNK = 200

router = Router("broadcast")


async def queue_due(bot: Bot) -> None:
    """The periodic job (every ``EVERY_S`` seconds): one ``broadcast.due`` event."""
    await submit(bot, DUE_JOB)


async def start(bot: Bot, broadcast_id: int) -> None:
    """Fan a broadcast for now out at once (the periodic job would otherwise find it)."""
    event = Scheduled(
        dedup_key=f"bcfan:{broadcast_id}:start",
        platform="internal",
        group_id=None,
        occurred_at=bot.clock.now(),
        job=FANOUT_JOB,
    )
    await bot.inbox.submit(event)


@router.on(Scheduled)
async def fan_out(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, Scheduled)
    if ev.job not in (DUE_JOB, FANOUT_JOB):
        return
    now = ctx.now()
    fanout = ctx.repo(Fanout)
    due = await fanout.due(now)
    if not due:
        return
    todo = await fanout.next_groups(due, CHUNK)
    await _queue(ctx, todo, now)
    if len(todo) == CHUNK:  # more to do: the next chunk in a transaction of its own
        last_b, last_g = todo[-1][:2]
        follow = Scheduled(
            dedup_key=f"bcfan:{last_b}:{last_g}",
            platform="internal",
            group_id=None,
            occurred_at=now,
            job=FANOUT_JOB,
        )
        await ctx.emit(follow)
        return
    await fanout.finish(due)


def link_attachment(caption: str, url: str) -> list[dict[str, Any]]:
    """A 企业群发 ``link`` attachment showing the image (WeCom shows ``picurl``)."""
    title = " ".join(caption.split())[:128] or "图片"
    return [{"link": {"title": title, "picurl": url, "url": url}}]


async def _queue(ctx: Context, todo: Sequence[Todo], now: datetime) -> None:
    """Claim the groups and queue their messages (or record why one cannot have one)."""
    fanout = ctx.repo(Fanout)
    bids = sorted({t[0] for t in todo})
    official = await fanout.official(bids)
    known = await fanout.known(sorted({t[1] for t in todo}))
    bot_name = ctx.config.bot.name
    ready: dict[int, dict[str, tuple[str, str, bool, str]]] = {}  # broadcast → group → message
    for bid, gid, text, markdown, image in todo:
        g = ctx.config.group(gid)
        seen = known.get(gid)
        name = (g.name if g else "") or (seen.name if seen else "")
        platform = g.platform if g else (seen.platform if seen else "console")
        local = now.astimezone(ctx.config.timezone(gid))
        reason = "" if await group_active(ctx, gid) else "inactive"
        if not reason:
            try:
                body = render(text, values_for(name, gid, bot_name, local)) if text else ""
                ready.setdefault(bid, {})[gid] = (body, platform, markdown, image)
                continue
            except RenderError as exc:
                reason = str(exc)
        await fanout.fail(bid, gid, reason, now)
    for bid, messages in ready.items():
        # one claim for the chunk: a group claimed meanwhile by another run, or cancelled, is
        # not returned and gets nothing queued
        for gid in await fanout.claim(bid, list(messages), now):
            body, platform, markdown, image = messages[gid]
            if await hand_over(
                ctx,
                key=outbox_key(bid, gid),
                source=f"bc:{bid}",
                text=body,
                at=now,
                official=official[bid],
                theme="群发",
                attachments=link_attachment(body, image) if image else None,
                group_id=gid,
            ):
                continue  # a customer group without a robot: 企业群发 or a staff reminder
            if body:
                parts = await fanout.queue(
                    ctx.config,
                    now,
                    gid,
                    body,
                    idem_key=outbox_key(bid, gid),
                    platform=platform,
                    markdown=markdown,
                )
                if parts != 1:
                    await fanout.set_parts(bid, gid, parts)
            if image:
                key = image_key(bid, gid)
                await fanout.queue_image(
                    ctx.config, now, gid, image, idem_key=key, platform=platform
                )
