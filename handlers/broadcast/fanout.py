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
- A group that is inactive (the bot left or was removed: ``group_active``), or whose text
  cannot be filled, is ``failed`` with the reason; the other groups go. Pacing per robot key,
  retries and dead letters are the outbox's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, or_, select, update

from bot import Context, Router, Scheduled, group_active, queue_group_text, submit
from handlers.broadcast.logic import RenderError, render, values_for
from handlers.broadcast.repo import known_groups, outbox_key
from storage.models_broadcast import Broadcast, BroadcastGroup

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


def _due(now: datetime) -> Any:
    return select(Broadcast.id).where(
        Broadcast.status == "scheduled", or_(Broadcast.at.is_(None), Broadcast.at <= now)
    )


@router.on(Scheduled)
async def fan_out(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, Scheduled)
    if ev.job not in (DUE_JOB, FANOUT_JOB):
        return
    now = ctx.now()
    due = list(await ctx.session.scalars(_due(now)))
    if not due:
        return
    todo = (
        await ctx.session.execute(
            select(BroadcastGroup.broadcast_id, BroadcastGroup.group_id, Broadcast.text)
            .join(Broadcast, Broadcast.id == BroadcastGroup.broadcast_id)
            .where(BroadcastGroup.broadcast_id.in_(due), BroadcastGroup.state == "scheduled")
            .order_by(BroadcastGroup.broadcast_id, BroadcastGroup.group_id)
            .limit(CHUNK)
        )
    ).all()
    actions = dict(
        (
            await ctx.session.execute(
                select(Broadcast.id, Broadcast.action).where(Broadcast.id.in_(due))
            )
        ).all()
    )
    await _queue(ctx, [(b, g, t, actions[b] == "markdown") for b, g, t in todo], now)
    if len(todo) == CHUNK:  # more to do: the next chunk in a transaction of its own
        last_b, last_g, _ = todo[-1]
        follow = Scheduled(
            dedup_key=f"bcfan:{last_b}:{last_g}",
            platform="internal",
            group_id=None,
            occurred_at=now,
            job=FANOUT_JOB,
        )
        await ctx.emit(follow)
        return
    left = exists().where(
        BroadcastGroup.broadcast_id == Broadcast.id, BroadcastGroup.state == "scheduled"
    )
    await ctx.session.execute(
        update(Broadcast)
        .where(Broadcast.id.in_(due), Broadcast.status == "scheduled", ~left)
        .values(status="queued")
        .execution_options(synchronize_session=False)
    )


async def _queue(ctx: Context, todo: Sequence[tuple[int, str, str, bool]], now: datetime) -> None:
    """Claim the groups and queue their messages (or record why one cannot have one)."""
    known = await known_groups(ctx.session, sorted({gid for _, gid, _, _ in todo}))
    bot_name = ctx.config.bot.name
    ready: dict[int, dict[str, tuple[str, str, bool]]] = {}  # broadcast → group → message
    for bid, gid, text, markdown in todo:
        g = ctx.config.group(gid)
        seen = known.get(gid)
        name = (g.name if g else "") or (seen.name if seen else "")
        platform = g.platform if g else (seen.platform if seen else "console")
        local = now.astimezone(ctx.config.timezone(gid))
        reason = "" if await group_active(ctx, gid) else "inactive"
        if not reason:
            try:
                body = render(text, values_for(name, gid, bot_name, local))
                ready.setdefault(bid, {})[gid] = (body, platform, markdown)
                continue
            except RenderError as exc:
                reason = str(exc)
        await ctx.session.execute(
            _claim(bid, [gid]).values(state="failed", reason=reason[:256], queued_at=now)
        )
    for bid, messages in ready.items():
        # one claim for the chunk: a group claimed meanwhile by another run, or cancelled, is
        # not returned and gets nothing queued
        claimed = await ctx.session.scalars(
            _claim(bid, list(messages))
            .values(state="queued", parts=1, queued_at=now)
            .returning(BroadcastGroup.__table__.c.group_id)
        )
        for gid in claimed.all():
            body, platform, markdown = messages[gid]
            parts = await queue_group_text(
                ctx.session,
                ctx.config,
                now=now,
                group_id=gid,
                text=body,
                idem_key=outbox_key(bid, gid),
                platform=platform,
                markdown=markdown,
            )
            if parts != 1:
                await ctx.session.execute(_claim(bid, [gid], "queued").values(parts=parts))


def _claim(bid: int, gids: list[str], state: str = "scheduled") -> Any:
    """UPDATE of the broadcast's groups ``gids`` that are still in ``state``."""
    t = BroadcastGroup.__table__
    return update(t).where(t.c.broadcast_id == bid, t.c.group_id.in_(gids), t.c.state == state)
