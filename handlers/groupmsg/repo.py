"""The customer-group items handlers write (``Items``): one per occurrence key.

Rules: an item is unique by the occurrence's key (``add`` is False the second time); the
caps count items of the ``groupmsg`` channel that were neither cancelled nor failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot import Repository, queue_app_text
from storage.dialect import insert_ignore
from storage.models_groupmsg import GroupMsgItem

NOT_COUNTED = ("cancelled", "failed")


class Items(Repository):
    async def official_count(self, gid: str, lo: datetime, hi: datetime) -> int:
        """企业群发 items of ``gid`` due in ``[lo, hi)`` that count against the caps."""
        n = await self._scalar(
            select(func.count())
            .select_from(GroupMsgItem)
            .where(
                GroupMsgItem.group_id == gid,
                GroupMsgItem.channel == "groupmsg",
                GroupMsgItem.state.not_in(NOT_COUNTED),
                GroupMsgItem.due_at >= lo,
                GroupMsgItem.due_at < hi,
            )
        )
        return int(n or 0)

    async def add(self, row: dict[str, Any]) -> bool:
        """The occurrence's item; False when it was handed over already."""
        table = GroupMsgItem.__table__
        stmt = insert_ignore(self._db, table, ["key"]).returning(table.c.id)
        return (await self._query(stmt, [row])).scalar() is not None

    async def remind(self, **message: Any) -> None:
        """The staff reminder: an app message to the owner (``queue_app_text``)."""
        await queue_app_text(self._db, **message)
