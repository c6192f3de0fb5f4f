"""Migrations build exactly the schema the models describe, and upgrade is idempotent."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage import metadata
from storage.db import Database
from storage.migrate import current, upgrade


async def test_upgrade_head_matches_models(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await upgrade(db)
    await upgrade(db)  # idempotent
    assert await current(db) is not None

    def diff(conn):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, metadata)

    async with db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    await db.dispose()
    assert changes == [], f"models and migrations differ: {changes}"
