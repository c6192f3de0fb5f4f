"""The programme's ledger of occurrences and its lottery draws (``Ledger``).

Rules:
- An occurrence (slot, group, time) is claimed once: the ledger's unique key decides, in a
  dispatcher batch as in one event (see ``Repository._claim``).
- A lottery draw is stored once per occurrence.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot import Repository
from storage.models_programme import LotteryDraw, ProgrammeOccurrence


class Ledger(Repository):
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
