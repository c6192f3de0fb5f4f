"""storage.db.rowcount: how many rows an UPDATE matched (the exactly-once checks of void,
undo and claim rely on it), and a clear error for a statement that has no count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from storage.db import Database
from storage.dialect import rowcount
from storage.models import Group


async def test_rowcount_counts_matched_rows_and_refuses_other_results(db_url: str) -> None:
    db = Database(db_url)
    await db.create_all()
    async with db.transaction() as s:
        now = datetime(2026, 11, 29, tzinfo=UTC)
        s.add_all([Group(id=g, platform="console", created_at=now) for g in ("g1", "g2")])
    async with db.transaction() as s:
        assert rowcount(await s.execute(update(Group).values(name="c"))) == 2
        assert rowcount(await s.execute(update(Group).where(Group.id == "x").values(name="d"))) == 0
        with pytest.raises(TypeError, match="no row count"):
            rowcount(await s.execute(select(Group)))  # an ORM query: rows, no count
    await db.dispose()
