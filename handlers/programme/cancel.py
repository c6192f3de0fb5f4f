"""Cancelling one occurrence of a slot (``DELETE /api/programme/occurrences``).

Rules:
- In one transaction: every target group not yet claimed gets its ledger row claimed as
  ``cancelled`` (so the posting path never posts it, whenever its event comes); a post still
  waiting in the outbox is taken back (``cancel_queued``); the customer groups' part goes to
  ``handlers.groupmsg.cancel_source`` (open items cancelled, queued staff reminders taken
  back, tasks flagged: the ``groupmsg.round`` job calls ``cancel_groupmsg_send`` for tasks
  WeCom already has). What was already posted stays posted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import cancel_queued
from handlers.groupmsg import cancel_source
from handlers.programme.slots import due, load_overrides, occurrence_key
from storage.dialect import insert_ignore
from storage.models_programme import ProgrammeOccurrence

if TYPE_CHECKING:
    from bot import Bot


async def cancel(bot: Bot, slot: str, at: datetime) -> tuple[int, int] | None:
    """Cancel ``slot`` at ``at`` (UTC) everywhere; (groups, customer-group items cancelled),
    or None when the slot has no occurrence then."""
    async with bot.db.transaction() as s:
        occs = [
            o
            for o in due(bot.config, at, at + timedelta(seconds=1), None, await load_overrides(s))
            if o.slot.id == slot
        ]
        if not occs:
            return None
        table = ProgrammeOccurrence.__table__
        now = bot.clock.now()
        for o in occs:
            row = dict(
                slot_id=slot,
                group_id=o.group_id,
                at=at,
                status="cancelled",
                theme=o.slot.theme,
                late=False,
                reason="cancelled by an operator",
                created_at=now,
            )
            await s.execute(insert_ignore(s, table, ["slot_id", "group_id", "at"]), [row])
        await cancel_queued(s, [occurrence_key(slot, o.group_id, at) for o in occs])
        n = await cancel_source(s, f"prog:{slot}:{at.isoformat()}")
    return len(occs), n
