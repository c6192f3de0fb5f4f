"""When the bot first started on its database: persisted once, never moved.

Rules:
- Every start records it with an insert that keeps an existing value (``group_settings`` row
  ``("*", "bot.first_start")``), so the first start wins — on any instance, whatever the order.
- A database from before this marker is seeded with the earliest time the bot is known to have
  run there: the programme's own marker of earlier releases (``programme.first_start``), the
  first group row's ``created_at``, or now.
- Nothing before it happened as far as the bot is concerned: the programme does not catch up
  beyond it and shows earlier occurrences as ``before_start`` (never ``skipped``); daily
  statistics of a group never seen start on its day. ``None`` from ``first_start`` means the
  bot never started on this database (``groupbot db upgrade`` alone).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.dialect import insert_ignore
from storage.models import Group, GroupSetting

KEY = ("*", "bot.first_start")
EARLIER = ("*", "programme.first_start")  # written by releases before this marker


def _parse(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


async def first_start(session: AsyncSession) -> datetime | None:
    """The recorded first start, or None when the bot never started on this database."""
    row = await session.get(GroupSetting, KEY)
    return _parse(row.value) if row is not None else None


async def record_first_start(db: Database, now: datetime) -> datetime:
    """Record ``now`` as the first start unless one is recorded; return the recorded one."""
    async with db.transaction() as s:
        have = await first_start(s)
        if have is not None:
            return have
        earlier = [now]
        row = await s.get(GroupSetting, EARLIER)
        if row is not None and (t := _parse(row.value)) is not None:
            earlier.append(t)
        if (t := await s.scalar(select(func.min(Group.created_at)))) is not None:
            earlier.append(t)
        at = min(earlier)
        values = dict(
            group_id=KEY[0], key=KEY[1], value=at.isoformat(), updated_by="", updated_at=now
        )
        await s.execute(insert_ignore(s, GroupSetting.__table__, ["group_id", "key"]), [values])
        s.expire_all()
        stored = await first_start(s)
    return stored or at
