"""The week's programme with each occurrence's status, for chat, CLI and API alike.

Status: ``cancelled`` (an operator cancelled the occurrence),
``sent`` (claimed and queued), ``failed`` (its content could not be rendered, or its
message was dead-lettered), ``skipped`` (missed: recorded as skipped — late beyond the grace
period, or its group inactive — or long past without ever being posted while the bot ran),
``before_start`` (past, and before the bot first started on this database — or the bot never
started there: nothing was missed), ``pending`` (not yet due, or due this very moment).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, first_start
from handlers.programme.slots import due, load_overrides, occurrence_key
from schedules.due import Occurrence
from storage.models import OutboxMessage
from storage.models_programme import ProgrammeOccurrence


def week_bounds(config: Config, group: str | None, monday: date) -> tuple[datetime, datetime]:
    tz = config.timezone(group)
    start = datetime.combine(monday, time(0), tzinfo=tz)
    return start, start + timedelta(days=7)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _unclaimed(o: Occurrence, now: datetime | None, since: datetime | None) -> str:
    """The status of an occurrence without a ledger row; ``since``: the bot's first start."""
    if now is None or o.at >= now - timedelta(minutes=5):
        return "pending"
    return "skipped" if since is not None and o.at >= since else "before_start"


async def with_status(
    session: AsyncSession | None, occs: list[Occurrence], now: datetime | None = None
) -> list[tuple[Occurrence, str]]:
    """Each occurrence with its status; without a session (no database yet) the bot never
    started, so what is past is ``before_start``."""
    if session is None or not occs:
        return [(o, _unclaimed(o, now, None)) for o in occs]
    since = await first_start(session)
    groups = {o.group_id for o in occs}
    lo, hi = min(o.at for o in occs), max(o.at for o in occs)
    rows = await session.execute(
        select(
            ProgrammeOccurrence.slot_id,
            ProgrammeOccurrence.group_id,
            ProgrammeOccurrence.at,
            ProgrammeOccurrence.status,
        ).where(
            ProgrammeOccurrence.group_id.in_(groups),
            ProgrammeOccurrence.at >= lo,
            ProgrammeOccurrence.at <= hi,
        )
    )
    ledger = {(s, g, a): st for s, g, a, st in rows.all()}
    dead_keys = set(
        (
            await session.scalars(
                select(OutboxMessage.idem_key).where(
                    OutboxMessage.status == "dead", OutboxMessage.idem_key.like("prog:%")
                )
            )
        ).all()
    )
    out = []
    for o in occs:
        st = ledger.get((o.slot.id, o.group_id, o.at)) or _unclaimed(o, now, since)
        if (
            st == "sent"
            and occurrence_key(o.slot.id, o.group_id, o.at.astimezone(UTC)) in dead_keys
        ):
            st = "failed"
        out.append((o, st))
    return out


async def week(
    config: Config,
    session: AsyncSession | None,
    group: str | None,
    monday: date,
    now: datetime | None = None,
) -> list[tuple[Occurrence, str]]:
    start, end = week_bounds(config, group, monday)
    ov = await load_overrides(session) if session is not None else None
    return await with_status(session, due(config, start, end, group, ov), now)


STATUS_CN = {
    "sent": "已发",
    "failed": "失败",
    "skipped": "跳过",
    "before_start": "启动前",
    "pending": "待发",
    "cancelled": "已取消",
}
STATUS_EN = {"before_start": "before start"}


def format_rows(
    config: Config, rows: list[tuple[Occurrence, str]], chinese: bool = True
) -> list[str]:
    out = []
    for o, st in rows:
        local = o.at.astimezone(config.timezone(o.group_id))
        first = (o.slot.content or (o.slot.pool[0] if o.slot.pool else "")).splitlines()[0:1]
        status = STATUS_CN[st] if chinese else STATUS_EN.get(st, st)
        out.append(
            f"{local:%Y-%m-%d %a %H:%M}  {o.group_id}  {o.slot.theme or o.slot.id}"
            f"  [{status}]  {(first[0] if first else '')[:40]}"
        )
    return out
