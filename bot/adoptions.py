"""Adopted groups: groups the bot manages although ``[[groups]]`` does not list them.

A feature that finds a group belonging to something configured (the 活码 campaign whose WeCom
code opened it) adopts it with ``adopt_group``: one ``group_adoptions`` row per group (its
primary key: adopted once, whoever tries again), written in the event's transaction.

Rules:
- Every process applies the stored adoptions to its configuration (``Config.adopt``): at
  start, then at most every ``REFRESH_S`` seconds of monotonic time — before a dispatcher
  batch, and when an event arrives for a group the configuration does not know (before its
  content would be dropped) — and right after a batch of its own adopted a group. An
  adoption therefore survives a restart and reaches every instance; nothing is removed from a
  running configuration (a restart drops rows whose template group left the file).
- An adopted group is a configured group from then on: its events are served, programme tag
  targets and broadcasts reach it, ``bot.group_tags`` gives it its template's tags plus the
  adoption's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.repository import Repository
from bot.state import StateKey
from storage.models import GroupAdoption

if TYPE_CHECKING:
    from bot.config import Config
    from bot.dispatch.context import Context
    from bot.services import Services
    from storage.db import Database

log = logging.getLogger("groupbot.adoptions")
REFRESH_S = 10.0


@dataclass
class _Seen:
    checked_at: float | None = None  # monotonic time of the last read
    dirty: bool = False  # this process adopted a group: read again after the batch
    skipped: set[str] = field(default_factory=set)  # rows whose template is not configured


SEEN: StateKey[_Seen] = StateKey("adoptions", _Seen)


def apply(config: Config, rows: Sequence[GroupAdoption], skipped: set[str]) -> list[str]:
    """Adopt the rows' groups into ``config`` (oldest first); the ids newly adopted."""
    out = []
    for r in rows:
        if config.group(r.group_id) is not None:
            continue
        if config.adopt(r.group_id, r.like_group, r.name, list(r.tags or ())):
            out.append(r.group_id)
        elif r.group_id not in skipped:
            skipped.add(r.group_id)
            log.warning(
                "adopted group %s is not managed: its template group %s is not configured",
                r.group_id,
                r.like_group,
            )
    return out


async def load(db: Database, config: Config, skipped: set[str] | None = None) -> list[str]:
    """Read every adoption and apply it to ``config``; the ids newly adopted."""
    async with db.read() as s:
        q = select(GroupAdoption).order_by(GroupAdoption.adopted_at, GroupAdoption.group_id)
        rows = list((await s.scalars(q)).all())
    return apply(config, rows, set() if skipped is None else skipped)


async def refresh(services: Services, *, force: bool = False, after_batch: bool = False) -> None:
    """Apply adoptions stored since the last look, when due (module rules). ``after_batch``:
    the dispatcher, which also honours this process's own adoptions at once."""
    seen = services.state.need(SEEN)
    now = services.clock.monotonic()
    due = seen.checked_at is None or now - seen.checked_at >= REFRESH_S
    if not (force or due or (after_batch and seen.dirty)):
        return
    if after_batch:
        seen.dirty = False
    seen.checked_at = now
    new = await load(services.db, services.config, seen.skipped)
    if new:
        log.info("managing adopted groups: %s", ", ".join(new))


async def refresh_for(services: Services, gid: str | None) -> None:
    """Before treating ``gid`` as unknown: look for an adoption when due."""
    if gid is not None and services.config.group(gid) is None:
        await refresh(services)


class Adoptions(Repository):
    """The ``group_adoptions`` rows (``ctx.repo(Adoptions)``)."""

    async def record(
        self, gid: str, like: str, name: str, tags: Sequence[str], source: str, at: datetime
    ) -> bool:
        """Adopt ``gid``; True for the one caller that recorded it."""
        row = {
            "group_id": gid,
            "like_group": like,
            "name": name[:256],
            "tags": list(tags),
            "source": source[:64],
            "adopted_at": at,
        }
        return await self._claim(GroupAdoption, row, ["group_id"])


async def adopt_group(
    ctx: Context, gid: str, like: str, *, name: str = "", tags: Sequence[str] = (), source: str
) -> bool:
    """Adopt ``gid`` with the settings of the configured group ``like`` (module rules), in
    the event's transaction, audited once; True when this call adopted it. The group is
    managed once the transaction commits (this process: before its next batch)."""
    if ctx.config.group(like) is None or not gid or ctx.config.group(gid) is not None:
        return False
    if not await ctx.repo(Adoptions).record(gid, like, name, tags, source, ctx.now()):
        return False
    await ctx.audit("group.adopt", gid, like=like, name=name, tags=list(tags), source=source)
    ctx.services.state.need(SEEN).dirty = True
    return True
