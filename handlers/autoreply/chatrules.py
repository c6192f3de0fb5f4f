"""Reading the rules admins added from chat (``/加回复``), without a query per chat line.

Rules:
- A group's chat rules are kept in the process for ``KEEP_S`` seconds (monotonic clock) after
  they were read; within a batch they are read once for all the batch's groups
  (``ChatRules.preload``).
- ``/加回复`` and ``/删回复`` drop the group's copy at once in this process, and nothing read
  by a batch that changed chat rules is kept (it may still roll back), so this process answers
  with a new rule from the next message on. Another instance sharing the database sees the
  change within ``KEEP_S``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Context, Event, MessageReceived, Repository, Services, StateKey, prepared
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
_CHAT = prepared(
    select(_RULES.c.id, _RULES.c.group_id, _RULES.c.match, _RULES.c.keywords, _RULES.c.reply)
    .where(_RULES.c.group_id.in_(bindparam("gids", expanding=True)))
    .order_by(_RULES.c.id)
)


async def chat_entries(session: AsyncSession, gids: Sequence[str]) -> dict[str, tuple[Entry, ...]]:
    """The chat-added rules of ``gids``, per group, oldest first: each an entry ``#<id>``,
    always in force, the group's own."""
    rows = await (await session.connection()).execute(_CHAT, {"gids": list(gids)})
    return _entries(rows.all(), gids)


def _entries(rows: Sequence[Any], gids: Sequence[str]) -> dict[str, tuple[Entry, ...]]:
    out: dict[str, list[Entry]] = {g: [] for g in gids}
    for rid, gid, match, keywords, reply in rows:
        out[gid].append(Entry(f"#{rid}", "chat", match, tuple(keywords), reply))
    return {g: tuple(v) for g, v in out.items()}


def _fresh(services: Services, gid: str) -> tuple[Entry, ...] | None:
    got = services.state.need(KEPT).get(gid)
    if got is None or services.clock.monotonic() - got[0] > KEEP_S:
        return None
    return got[1]


class ChatRules(Repository):
    """The groups' chat-added rules, read once per batch and kept ``KEEP_S`` in the process."""

    async def preload(self, events: Sequence[Event], services: Services) -> None:
        """The chat rules of every group with a chat line in the batch, in one query."""
        if not self._in_batch:
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
                self._remember((MEMO, gid), entries)
            else:
                todo.append(gid)
        if todo:
            found = await self._entries(todo)
            self._keep(services, found)
            for gid, entries in found.items():
                self._remember((MEMO, gid), entries)

    async def of_group(self, gid: str, services: Services) -> tuple[Entry, ...]:
        """This group's chat-added rules (kept, preloaded, or read now)."""
        known = self._known((MEMO, gid))
        if known is not None:
            return tuple(known)
        if (entries := _fresh(services, gid)) is not None:
            return entries
        found = await self._entries([gid])
        self._keep(services, found)
        self._remember((MEMO, gid), found[gid])
        return found[gid]

    def changed(self, gid: str, services: Services) -> None:
        """After /加回复 or /删回复: this process reads the group's rules again, and keeps
        nothing this unit of work reads (it may still roll back)."""
        self._remember((MEMO, gid), None)
        self._remember(DIRTY, True)
        services.state.need(KEPT).pop(gid, None)

    async def _entries(self, gids: Sequence[str]) -> dict[str, tuple[Entry, ...]]:
        # chat rules are only written by plain statements: no pending write can be missed
        return _entries((await self._read(_CHAT, {"gids": list(gids)})).all(), gids)

    def _keep(self, services: Services, found: dict[str, tuple[Entry, ...]]) -> None:
        if self._known(DIRTY):
            return
        kept = services.state.need(KEPT)
        if len(kept) + len(found) > MAX_GROUPS:
            kept.clear()
        at = services.clock.monotonic()
        for gid, entries in found.items():
            kept[gid] = (at, entries)


async def chat_rules(ctx: Context) -> tuple[Entry, ...]:
    """This group's chat-added rules."""
    assert ctx.group_id is not None
    return await ctx.repo(ChatRules).of_group(ctx.group_id, ctx.services)


def forget_chat_rules(ctx: Context) -> None:
    """After /加回复 or /删回复 (see ``ChatRules.changed``)."""
    assert ctx.group_id is not None
    ctx.repo(ChatRules).changed(ctx.group_id, ctx.services)
