"""The slots in force: the config's, plus those admins added from chat, minus paused ones;
``tag:`` targets match a group's effective tags (``bot.group_tags``: configured, and given from
the console).

Chat edits are rows in the database, read again at every tick, so they survive restarts and
every instance sees them. A row saved before content rules were enforced still loads: it
fails alone when it is rendered (and is recorded as failed), never the whole programme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, stored_tags
from handlers.programme.config import ProgrammeConfig, group_views
from schedules.due import Occurrence, occurrences
from schedules.model import Slot
from storage.models_programme import ProgrammeCustomSlot, ProgrammePause


@dataclass
class Overrides:
    """What admins changed from chat: added slots and paused slot ids, per group."""

    custom: dict[str, list[Slot]] = field(default_factory=dict)
    paused: dict[str, set[str]] = field(default_factory=dict)
    tags: dict[str, list[str]] = field(default_factory=dict)  # given from the console


async def load_overrides(session: AsyncSession) -> Overrides:
    out = Overrides()
    for row in (await session.scalars(select(ProgrammeCustomSlot))).all():
        # built without validation (see the module rule)
        slot = Slot.model_construct(
            id=row.slot_id,
            days=row.days.split(","),
            time=row.time,
            theme=row.theme,
            content=row.content,
            targets=[row.group_id],
        )
        out.custom.setdefault(row.group_id, []).append(slot)
    pauses = await session.execute(select(ProgrammePause.group_id, ProgrammePause.slot_id))
    for gid, sid in pauses.all():
        out.paused.setdefault(gid, set()).add(sid)
    out.tags = await stored_tags(session)
    return out


def due(
    config: Config,
    start: datetime,
    end: datetime,
    group: str | None = None,
    overrides: Overrides | None = None,
) -> list[Occurrence]:
    """All occurrences in ``[start, end)`` for every configured group (or one), with the
    slots admins added from chat and without the ones they paused."""
    ov = overrides or Overrides()
    out: list[Occurrence] = []
    for view in group_views(config, ov.tags):
        if group is not None and view.id != group:
            continue
        cfg: ProgrammeConfig = config.feature(ProgrammeConfig, view.id)
        if not cfg.enabled:
            continue
        paused = ov.paused.get(view.id, set())
        slots = [*cfg.slots, *ov.custom.get(view.id, [])]
        found = occurrences(view, slots, cfg.campaigns, set(cfg.holidays), start, end)
        out += [o for o in found if o.slot.id not in paused]
    return sorted(out, key=lambda o: (o.at, o.group_id, o.slot.id))


def find_slot(cfg: ProgrammeConfig, slot_id: str) -> Slot | None:
    for s in cfg.slots:
        if s.id == slot_id:
            return s
    for c in cfg.campaigns:
        for s in c.slots:
            if s.id == slot_id:
                return s
    return None


def occurrence_key(slot_id: str, group_id: str, at: datetime) -> str:
    """The occurrence's id: its inbox event, outbox post and lottery draw all carry it."""
    return f"prog:{slot_id}:{group_id}:{at.isoformat()}"
