"""Posting a static slot to many groups at once (fan-out).

Rule: a slot whose content needs no live numbers (only ``{date}``, ``{weekday}``, ``{theme}``,
``{group}``) is claimed in the ledger and queued for every target group in one transaction
with two bulk statements; the per-group outbox keys are the same occurrence ids the
per-event path uses, so the two paths can never both post an occurrence. Delivery then runs
at each robot's own pace.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects import postgresql, sqlite

from bot import templates
from bot.outbox.queue import route, split
from schedules.due import Occurrence
from storage.models import OutboxMessage
from storage.models_programme import ProgrammeOccurrence

if TYPE_CHECKING:
    from bot.runtime import Bot

STATIC = {"date", "weekday", "theme", "group"}
CN_WEEKDAY = "一二三四五六日"


def is_static(occ: Occurrence) -> bool:
    if occ.slot.action != "post" or occ.slot.pool:
        return False
    try:
        names = templates.fields(occ.slot.content)
    except templates.TemplateError:
        return False
    return names <= STATIC


def _text(bot: Bot, occ: Occurrence) -> str:
    g = bot.config.group(occ.group_id)
    local = occ.at.astimezone(bot.config.timezone(occ.group_id))
    values = {
        "date": local.strftime("%m月%d日"),
        "weekday": "周" + CN_WEEKDAY[local.weekday()],
        "theme": occ.slot.theme,
        "group": g.name if g and g.name else occ.group_id,
    }
    return templates.fill(occ.slot.content, values)


async def post_static(bot: Bot, occs: list[Occurrence], now: datetime, late: bool = False) -> int:
    """Claim and queue static occurrences in bulk; returns how many were newly claimed."""
    if not occs:
        return 0
    ledger = ProgrammeOccurrence.__table__
    outbox = OutboxMessage.__table__
    claims = [
        dict(
            slot_id=o.slot.id,
            group_id=o.group_id,
            at=o.at,
            status="sent",
            theme=o.slot.theme,
            late=late,
            created_at=now,
        )
        for o in occs
    ]
    by_key = {(o.slot.id, o.group_id, o.at): o for o in occs}
    async with bot.db.connection() as conn:
        mod: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = (
            mod.insert(ledger)
            .on_conflict_do_nothing(index_elements=["slot_id", "group_id", "at"])
            .returning(ledger.c.slot_id, ledger.c.group_id, ledger.c.at)
        )
        claimed = (await conn.execute(stmt, claims)).all()
        rows: list[dict[str, Any]] = []
        for slot_id, group_id, at in claimed:
            occ = by_key.get((slot_id, group_id, at)) or next(
                o for o in occs if o.slot.id == slot_id and o.group_id == group_id
            )
            channel, target = route(bot.config, group_id, "internal")
            key = f"prog:{slot_id}:{group_id}:{occ.at.isoformat()}"
            action = "markdown" if occ.slot.markdown else "text"
            for i, part in enumerate(split(channel, action, _text(bot, occ))):
                rows.append(
                    dict(
                        idem_key=key if i == 0 else f"{key}#{i}",
                        group_id=group_id,
                        channel=channel,
                        target=target,
                        action=action,
                        payload={"text": part, "group_id": group_id, "mentions": []},
                        status="queued",
                        attempts=0,
                        next_attempt_at=now,
                        last_error="",
                        event_id=None,
                        created_at=now,
                    )
                )
        if rows:
            ins = mod.insert(outbox).on_conflict_do_nothing(index_elements=["idem_key"])
            await conn.execute(ins, rows)
    bot.wake_outbox()
    return len(claimed)
