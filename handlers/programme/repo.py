"""The programme's ledger of occurrences and its lottery draws (``Ledger``).

Rules:
- An occurrence (slot, group, time) is claimed once: the ledger's unique key decides, in a
  dispatcher batch as in one event (see ``Repository._claim``).
- A lottery draw is stored once per occurrence.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select

from bot import Config, Repository
from handlers.programme.slots import Overrides, load_overrides
from handlers.programme.table import week
from schedules.due import Occurrence
from storage.dialect import insert_ignore, rowcount
from storage.models_programme import (
    LotteryDraw,
    ProgrammeCustomSlot,
    ProgrammeOccurrence,
    ProgrammePause,
)


class Ledger(Repository):
    """Occurrences, draws, and the slots admins add or pause from chat."""

    async def claim(self, row: dict[str, Any]) -> bool:
        """Record the occurrence; True for the one caller that recorded it."""
        return await self._claim(ProgrammeOccurrence, row, ["slot_id", "group_id", "at"])

    async def sent_count(self, slot_id: str, group_id: str) -> int:
        """How many posts of the slot the group has had (a pool's next item)."""
        n = await self._scalar(
            select(func.count())
            .select_from(ProgrammeOccurrence)
            .where(
                ProgrammeOccurrence.slot_id == slot_id,
                ProgrammeOccurrence.group_id == group_id,
                ProgrammeOccurrence.status == "sent",
            )
        )
        return int(n or 0)

    async def record_draw(self, row: dict[str, Any]) -> None:
        """Store the occurrence's draw (a second one for it changes nothing)."""
        await self._insert_ignore(LotteryDraw, row, ["occurrence"])

    # --- slots changed from chat ---------------------------------------------------------
    async def overrides(self) -> Overrides:
        """Slots added and paused from chat, every group."""
        return await load_overrides(self._db)

    async def week(
        self, config: Config, group_id: str | None, monday: date, now: datetime
    ) -> list[tuple[Occurrence, str]]:
        return await week(config, self._db, group_id, monday, now)

    async def add_slot(self, row: dict[str, Any]) -> bool:
        """A slot added from chat; False when the group has one by that name."""
        table = ProgrammeCustomSlot.__table__
        stmt = insert_ignore(self._db, table, ["group_id", "slot_id"]).returning(table.c.slot_id)
        return (await self._query(stmt, [row])).scalar() is not None

    async def remove_slot(self, group_id: str | None, slot_id: str) -> bool:
        res = await self._execute(
            delete(ProgrammeCustomSlot).where(
                ProgrammeCustomSlot.group_id == group_id, ProgrammeCustomSlot.slot_id == slot_id
            )
        )
        return bool(rowcount(res))

    async def pause(self, group_id: str | None, slot_id: str, by: str, at: datetime) -> None:
        table = ProgrammePause.__table__
        row = dict(group_id=group_id, slot_id=slot_id, paused_by=by, paused_at=at)
        await self._query(insert_ignore(self._db, table, ["group_id", "slot_id"]), [row])

    async def resume(self, group_id: str | None, slot_id: str) -> None:
        await self._execute(
            delete(ProgrammePause).where(
                ProgrammePause.group_id == group_id, ProgrammePause.slot_id == slot_id
            )
        )
