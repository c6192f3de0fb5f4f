"""On SQLite the dispatcher's batch and the delivery loop's read keep their connection between
uses (storage/kept.py): one connection across clean uses, a new one after an error, none left
open by ``dispose``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from storage.db import Database
from storage.models import Group


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    d = Database(f"sqlite+aiosqlite:///{tmp_path / 'k.db'}")
    await d.create_all()
    yield d
    await d.dispose()


def _checkouts(db: Database) -> list[int]:
    seen: list[int] = []

    @event.listens_for(db.engine.sync_engine.pool, "checkout")
    def _count(*_a: Any) -> None:
        seen.append(1)

    return seen


def _group(gid: str) -> Group:
    return Group(
        id=gid,
        platform="onebot",
        name="",
        member_version="",
        active=True,
        created_at=datetime.now(UTC),
    )


async def test_clean_batches_and_reads_share_one_connection_each(db: Database) -> None:
    seen = _checkouts(db)
    raw = set()
    for i in range(5):
        async with db.batch_transaction() as s:
            s.add(_group(f"g{i}"))
            raw.add(id((await s.connection()).sync_connection.connection.dbapi_connection))
        async with db.read_connection() as conn:
            await conn.execute(text("SELECT 1"))
    assert len(seen) == 2  # one for the batches, one for the reads
    assert len(raw) == 1
    async with db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Group)) == 5


async def test_a_failed_batch_leaves_nothing_open_and_the_next_one_works(db: Database) -> None:
    seen = _checkouts(db)
    with pytest.raises(RuntimeError):
        async with db.batch_transaction() as s:
            s.add(_group("lost"))
            await s.flush()  # written in the batch's transaction …
            raise RuntimeError("handler failed")
    async with db.batch_transaction() as s:  # … rolled back; a new connection, no lock left
        s.add(_group("kept"))
    assert len(seen) == 2
    async with db.read() as s:
        assert (await s.scalars(select(Group.id))).all() == ["kept"]
    async with db.transaction() as s:  # the write lock was given back
        s.add(_group("after"))


async def test_a_batch_rolled_back_inside_is_still_clean(db: Database) -> None:
    """The dispatcher rolls a failed batch back itself and leaves the block normally."""
    async with db.batch_transaction() as s:
        s.add(_group("gone"))
        await s.flush()
        await s.rollback()
    async with db.batch_transaction() as s:
        s.add(_group("here"))
    async with db.read() as s:
        assert (await s.scalars(select(Group.id))).all() == ["here"]


async def test_dispose_closes_the_kept_connections(db: Database) -> None:
    async with db.batch_transaction() as s:
        s.add(_group("g"))
    async with db.read_connection() as conn:
        await conn.execute(text("SELECT 1"))
    pool = db.engine.sync_engine.pool
    assert pool.checkedout() == 2  # (kept out of the pool between uses)
    await db.dispose()
    assert pool.checkedout() == 0
