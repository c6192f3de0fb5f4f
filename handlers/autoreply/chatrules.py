"""Reading the rules admins added from chat (``/加回复``), without a query per chat line.

Rules:
- A group's chat rules are kept in the process for ``KEEP_S`` seconds (monotonic clock) after
  they were read; within a batch they are read once for all the batch's groups (a preload).
- ``/加回复`` and ``/删回复`` drop the group's copy at once in this process, and nothing read
  by a batch that changed chat rules is kept (it may still roll back), so this process answers
  with a new rule from the next message on. Another instance sharing the database sees the
  change within ``KEEP_S``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Batch, Context, Event, MessageReceived, Services, StateKey
from handlers.autoreply.logic import Entry
from storage.models_autoreply import AutoreplyRule

KEEP_S = 10.0
MAX_GROUPS = 50_000  # copies kept at most (then all are dropped and read again)
MEMO = "autoreply.chat"
DIRTY = "autoreply.chat.changed"  # batch memo: this batch wrote chat rules
COMMAND_PREFIXES = ("/", "／")
Kept = dict[str, tuple[float, tuple[Entry, ...]]]
KEPT: StateKey[Kept] = StateKey("autoreply.chat_rules", dict)

_RULES = AutoreplyRule.__table__
# built once: at everyday load a batch holds one event, and building costs more than running
_CHAT = (
    select(_RULES.c.id, _RULES.c.group_id, _RULES.c.match, _RULES.c.keywords, _RULES.c.reply)
    .where(_RULES.c.group_id.in_(bindparam("gids", expanding=True)))
    .order_by(_RULES.c.id)
)


async def chat_entries(session: AsyncSession, gids: Sequence[str]) -> dict[str, tuple[Entry, ...]]:
    """The chat-added rules of ``gids``, per group, oldest first: each an entry ``#<id>``,
    always in force, the group's own. (Read on the session's connection: chat rules are only
    written by plain statements, so no pending write of a batch can be missed.)"""
    rows = await (await session.connection()).execute(_CHAT, {"gids": list(gids)})
    out: dict[str, list[Entry]] = {g: [] for g in gids}
    for rid, gid, match, keywords, reply in rows.all():
        out[gid].append(Entry(f"#{rid}", "chat", match, tuple(keywords), reply))
    return {g: tuple(v) for g, v in out.items()}


def _fresh(services: Services, gid: str) -> tuple[Entry, ...] | None:
    got = services.state.need(KEPT).get(gid)
    if got is None or services.clock.monotonic() - got[0] > KEEP_S:
        return None
    return got[1]


def _keep(services: Services, batch: Batch, found: dict[str, tuple[Entry, ...]]) -> None:
    if batch.memo.get(DIRTY):
        return
    kept = services.state.need(KEPT)
    if len(kept) + len(found) > MAX_GROUPS:
        kept.clear()
    at = services.clock.monotonic()
    for gid, entries in found.items():
        kept[gid] = (at, entries)


async def preload_chat_rules(batch: Batch, events: list[Event], services: Services) -> None:
    """The chat rules of every group with a chat line in the batch, in one query."""
    if not batch.deferred:
        return
    gids = {
        e.group_id
        for e in events
        if isinstance(e, MessageReceived)
        and e.group_id
        and not e.text.lstrip().startswith(COMMAND_PREFIXES)
    }
    todo = []
    for gid in sorted(gids):
        if (entries := _fresh(services, gid)) is not None:
            batch.memo[(MEMO, gid)] = entries
        else:
            todo.append(gid)
    if todo:
        found = await chat_entries(batch.session, todo)
        _keep(services, batch, found)
        for gid, entries in found.items():
            batch.memo[(MEMO, gid)] = entries


async def chat_rules(ctx: Context) -> tuple[Entry, ...]:
    """This group's chat-added rules (kept, preloaded, or read now)."""
    assert ctx.group_id is not None
    gid = ctx.group_id
    memo = ctx.batch.memo.get((MEMO, gid)) if ctx.batch.deferred else None
    if memo is not None:
        return tuple(memo)
    if (entries := _fresh(ctx.services, gid)) is not None:
        return entries
    found = await chat_entries(ctx.session, [gid])
    _keep(ctx.services, ctx.batch, found)
    if ctx.batch.deferred:
        ctx.batch.memo[(MEMO, gid)] = found[gid]
    return found[gid]


def forget_chat_rules(ctx: Context) -> None:
    """After /加回复 or /删回复: this process reads the group's rules again."""
    assert ctx.group_id is not None
    ctx.batch.memo.pop((MEMO, ctx.group_id), None)
    ctx.batch.memo[DIRTY] = True
    ctx.services.state.need(KEPT).pop(ctx.group_id, None)
