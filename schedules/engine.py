"""Turning the programme into posts: ticks, catch-up after a restart, the scheduler job.

Rules:
- Every tick looks back over a short window and submits one event per due occurrence, keyed
  ``prog:<slot>:<group>:<time>``; the inbox's unique key and the ledger's unique constraint make
  overlapping windows, restarts and several instances harmless.
- On start, occurrences missed by less than the grace period are posted once, late; older
  ones (up to a day back) are recorded as skipped and reported to admins.
- One APScheduler job (``programme-tick``, in memory) drives the ticks: per-group timezones,
  holidays, campaigns and quiet hours are all answered by the same pure function, so there is
  no job per slot to keep in step with edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Scheduled
from bot.state import StateKey
from schedules.due import GroupView, Occurrence, occurrences
from schedules.fanout import is_static, post_static
from schedules.model import Slot, parse_quiet

if TYPE_CHECKING:
    from bot.config import Config
    from bot.runtime import Bot

TICK_S = 30
WINDOW = timedelta(seconds=150)  # several ticks wide: a late tick still finds its occurrences
LOOKBACK = timedelta(days=1)

# when this process last looked for due occurrences (a restart looks back the grace period)
LAST_TICK: StateKey[datetime] = StateKey("programme_last_tick")


@dataclass
class Overrides:
    """What admins changed from chat: added slots and paused slot ids, per group."""

    custom: dict[str, list[Slot]] = field(default_factory=dict)
    paused: dict[str, set[str]] = field(default_factory=dict)


async def load_overrides(session: AsyncSession) -> Overrides:
    from storage.models_programme import ProgrammeCustomSlot, ProgrammePause

    out = Overrides()
    for row in (await session.scalars(select(ProgrammeCustomSlot))).all():
        # built without validation: a row saved before content rules were enforced still
        # loads, and fails alone when it is rendered
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
    for g in config.groups:
        if group is not None and g.id != group:
            continue
        cfg = config.feature("programme", g.id)
        quiet = parse_quiet(cfg.quiet_hours) or ()
        view = GroupView(g.id, tuple(g.tags), config.timezone(g.id), quiet)
        if not cfg.enabled:
            continue
        paused = ov.paused.get(view.id, set())
        slots = [*cfg.slots, *ov.custom.get(view.id, [])]
        found = occurrences(view, slots, cfg.campaigns, set(cfg.holidays), start, end)
        out += [o for o in found if o.slot.id not in paused]
    return sorted(out, key=lambda o: (o.at, o.group_id, o.slot.id))


def _sections(config: Config) -> list[Any]:
    sections = [config.feature("programme", g.id) for g in config.groups]
    return sections or [config.feature("programme")]


def _event(job: str, occ: Occurrence, now: datetime, late: bool = False) -> Scheduled:
    prefix = "prog" if job == "programme.post" else "progskip"
    return Scheduled(
        dedup_key=f"{prefix}:{occ.key}",
        platform="internal",
        group_id=occ.group_id,
        occurred_at=now,
        job=job,
        data={
            "slot": occ.slot.id,
            "at": occ.at.isoformat(),
            "late": late,
            "campaign": occ.campaign,
        },
    )


async def tick(bot: Bot, now: datetime | None = None) -> int:
    """Submit every occurrence due in the last window; returns how many were new."""
    now = now or bot.clock.now()
    new = 0
    async with bot.db.read() as s:
        ov = await load_overrides(s)
    # normally the last WINDOW; after a stall or a forward clock jump, back to the last tick
    # (at most the grace period) so nothing in between is lost
    last = bot.services.state.get(LAST_TICK, now)
    grace = timedelta(minutes=min(g.grace_minutes for g in _sections(bot.config)))
    start = max(now - grace, min(last, now - WINDOW))
    bot.services.state.set(LAST_TICK, now)
    occs = due(bot.config, start, now + timedelta(microseconds=1), overrides=ov)
    new += await post_static(bot, [o for o in occs if is_static(o)], now)
    for occ in occs:
        if not is_static(occ):
            new += (await bot.inbox.submit(_event("programme.post", occ, now))).new
    return new


async def catch_up(bot: Bot, now: datetime | None = None) -> tuple[int, int]:
    """After a start: post what was missed within the grace period, skip older ones.

    Nothing before the programme's first start counts as missed: a new install does not
    report a day of "skipped" posts it was never running for."""
    now = now or bot.clock.now()
    posted = skipped = 0
    since = await first_start(bot, now)
    async with bot.db.read() as s:
        ov = await load_overrides(s)
    for occ in due(bot.config, max(now - LOOKBACK, since), now, overrides=ov):
        grace = timedelta(minutes=bot.config.feature("programme", occ.group_id).grace_minutes)
        if occ.at >= now - grace:
            ev = _event("programme.post", occ, now, late=occ.at < now - WINDOW)
            posted += (await bot.inbox.submit(ev)).new
        else:
            skipped += (await bot.inbox.submit(_event("programme.skip", occ, now))).new
    return posted, skipped


async def first_start(bot: Bot, now: datetime) -> datetime:
    """When the programme first ran on this database (recorded the first time)."""
    from storage.dialect import insert_ignore
    from storage.models import GroupSetting

    async with bot.db.transaction() as s:
        table = GroupSetting.__table__
        row = dict(
            group_id="*",
            key="programme.first_start",
            value=now.isoformat(),
            updated_by="",
            updated_at=now,
        )
        await s.execute(insert_ignore(s, table, ["group_id", "key"]), [row])
        stored = await s.get(GroupSetting, ("*", "programme.first_start"))
    return datetime.fromisoformat(str(stored.value)) if stored else now


async def on_startup(bot: Bot) -> None:
    """Catch up, then tick every ``TICK_S`` seconds (a deterministic, in-memory job)."""
    await catch_up(bot)

    async def job() -> None:
        await tick(bot)

    bot.scheduler.add_job(
        job, "interval", seconds=TICK_S, id="programme-tick", replace_existing=True
    )
