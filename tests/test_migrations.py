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


async def test_upgrade_keeps_rows_written_before_the_key_columns(tmp_path: Path) -> None:
    """Rows from before revision 0007 get a unique legacy key; the upgrade does not fail."""
    from sqlalchemy import text

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await upgrade(db, "0006")
    now = "2026-11-18 02:00:00.000000"
    async with db.engine.begin() as conn:
        for i in (1, 2):
            await conn.execute(
                text(
                    "INSERT INTO warnings (group_id, user_id, rule, reason, actor_id, created_at,"
                    " expires_at, revoked) VALUES ('g1', :u, 'ads', 'x', '', :t, :t, 0)"
                ),
                {"u": f"u{i}", "t": now},
            )
            await conn.execute(
                text(
                    "INSERT INTO moderation_log (group_id, user_id, rule, action, excerpt,"
                    " shadow, actor_id, reason, created_at)"
                    " VALUES ('g1', :u, 'ads', 'warn', '', 0, '', '', :t)"
                ),
                {"u": f"u{i}", "t": now},
            )
    await upgrade(db)
    async with db.engine.connect() as conn:
        keys = (await conn.execute(text("SELECT key FROM warnings ORDER BY id"))).scalars().all()
        log = (await conn.execute(text("SELECT key FROM moderation_log ORDER BY id"))).scalars()
        assert keys == ["legacy:1", "legacy:2"]
        assert list(log) == ["legacy:1", "legacy:2"]
    await db.dispose()
