"""Auto-reply reads and writes, through the Context's unit of work.

Rules:
- Cooldown: a rule answers in a group at most once per ``cooldown_s``. The window is a row per
  (group, rule) holding the last answer's time, moved by one conditional upsert that succeeds
  only when the window has passed — so it holds across restarts, instances and re-runs of a
  batch (a rollback takes the move back with it). It is measured on the bot's clock at
  handling time, not the monotonic clock, because it must outlive the process; a wall clock
  stepped back (the stored time lies ahead) opens the window rather than silencing a rule.
- One answer per event: ``autoreply_answers.key`` is unique per inbox event; the answer is
  recorded before the reply is queued, and nothing is queued when it was recorded already.
- Chat rules are read once per batch for all the batch's groups (a preload), and per group
  when run alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Batch, Context, Event, MessageReceived, Services
from handlers.autoreply.logic import Entry
from storage.dialect import insert, insert_ignore
from storage.models_autoreply import AutoreplyAnswer, AutoreplyCooldown, AutoreplyRule

MEMO = "autoreply.chat"


def chat_entry(row: AutoreplyRule) -> Entry:
    """A chat-added rule as an entry (id ``#<n>``), always in force, the group's own."""
    return Entry(f"#{row.id}", "chat", row.match, tuple(row.keywords), row.reply)


async def _load(session: AsyncSession, gids: Sequence[str]) -> dict[str, tuple[Entry, ...]]:
    rows = (
        await session.scalars(
            select(AutoreplyRule)
            .where(AutoreplyRule.group_id.in_(list(gids)))
            .order_by(AutoreplyRule.id)
        )
    ).all()
    out: dict[str, list[Entry]] = {g: [] for g in gids}
    for r in rows:
        out[r.group_id].append(chat_entry(r))
    return {g: tuple(v) for g, v in out.items()}


async def preload_chat_rules(batch: Batch, events: list[Event], _services: Services) -> None:
    """The chat rules of every group with a message in the batch, in one query."""
    if not batch.deferred:
        return
    gids = sorted(
        {e.group_id for e in events if isinstance(e, MessageReceived) and e.group_id}
        - {k[1] for k in batch.memo if isinstance(k, tuple) and k[0] == MEMO}
    )
    if gids:
        for gid, entries in (await _load(batch.session, gids)).items():
            batch.memo[(MEMO, gid)] = entries


async def chat_rules(ctx: Context) -> tuple[Entry, ...]:
    """This group's chat-added rules (from the batch's preload when there is one)."""
    assert ctx.group_id is not None
    gid = ctx.group_id

    async def load() -> tuple[Entry, ...]:
        return (await _load(ctx.session, [gid]))[gid]

    found: tuple[Entry, ...] = await ctx.batch.cached((MEMO, gid), load)
    return found


def forget_chat_rules(ctx: Context) -> None:
    """After /加回复 or /删回复: later events of the batch read the group's rules again."""
    ctx.batch.memo.pop((MEMO, ctx.group_id), None)


async def take_cooldown(ctx: Context, rule_id: str, seconds: float) -> bool:
    """Start the rule's window in this group; False while a window is still open."""
    assert ctx.group_id is not None
    now = ctx.now()
    table = AutoreplyCooldown.__table__
    stmt = insert(ctx.session, table).values(
        group_id=ctx.group_id, rule_id=rule_id, answered_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["group_id", "rule_id"],
        set_={"answered_at": stmt.excluded.answered_at},
        where=or_(
            table.c.answered_at <= now - timedelta(seconds=seconds), table.c.answered_at > now
        ),
    ).returning(table.c.rule_id)
    return (await ctx.session.execute(stmt)).scalar() is not None


async def record_answer(
    ctx: Context, key: str, rule_id: str, source: str, user_id: str, day: date
) -> bool:
    """Write the answer down; False when this event was answered already."""
    assert ctx.group_id is not None
    table = AutoreplyAnswer.__table__
    row: dict[str, Any] = dict(
        key=key,
        group_id=ctx.group_id,
        rule_id=rule_id[:80],
        source=source,
        user_id=user_id,
        day=day,
        created_at=ctx.now(),
    )
    stmt = insert_ignore(ctx.session, table, ["key"]).values(row).returning(table.c.id)
    return (await ctx.session.execute(stmt)).scalar() is not None


async def hits(
    session: AsyncSession, group_id: str, first: date, last: date
) -> dict[str, dict[date, int]]:
    """Answers per rule and local day in ``[first, last]``: ``{rule: {day: n}}``."""
    q = (
        select(AutoreplyAnswer.rule_id, AutoreplyAnswer.day, func.count())
        .where(
            AutoreplyAnswer.group_id == group_id,
            AutoreplyAnswer.day >= first,
            AutoreplyAnswer.day <= last,
        )
        .group_by(AutoreplyAnswer.rule_id, AutoreplyAnswer.day)
    )
    out: dict[str, dict[date, int]] = {}
    for rule, day, n in (await session.execute(q)).all():
        out.setdefault(rule, {})[day] = int(n)
    return out


def day_of(at: datetime, tz: Any) -> date:
    return at.astimezone(tz).date()
