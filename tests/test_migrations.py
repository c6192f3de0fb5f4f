"""Migrations build exactly the schema the models describe, and upgrade is idempotent — on
SQLite, and on PostgreSQL when GROUPBOT_TEST_DB is set."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage import metadata
from storage.db import Database
from storage.migrate import current, upgrade
from storage.types import UTCDateTime
from tests import pgdb


async def test_upgrade_head_matches_models(tmp_path: Path) -> None:
    db = Database(pgdb.database_url(tmp_path, "m.db", empty=True))
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
    from sqlalchemy import Boolean, bindparam, text

    db = Database(pgdb.database_url(tmp_path, "old.db", empty=True))
    await upgrade(db, "0006")
    now = datetime(2026, 11, 18, 2, tzinfo=UTC)
    typed = (bindparam("t", type_=UTCDateTime()), bindparam("no", type_=Boolean()))
    async with db.engine.begin() as conn:
        for i in (1, 2):
            await conn.execute(
                text(
                    "INSERT INTO warnings (group_id, user_id, rule, reason, actor_id, created_at,"
                    " expires_at, revoked) VALUES ('g1', :u, 'ads', 'x', '', :t, :t, :no)"
                ).bindparams(*typed),
                {"u": f"u{i}", "t": now, "no": False},
            )
            await conn.execute(
                text(
                    "INSERT INTO moderation_log (group_id, user_id, rule, action, excerpt,"
                    " shadow, actor_id, reason, created_at)"
                    " VALUES ('g1', :u, 'ads', 'warn', '', :no, '', '', :t)"
                ).bindparams(*typed),
                {"u": f"u{i}", "t": now, "no": False},
            )
    await upgrade(db)
    async with db.engine.connect() as conn:
        keys = (await conn.execute(text("SELECT key FROM warnings ORDER BY id"))).scalars().all()
        log = (await conn.execute(text("SELECT key FROM moderation_log ORDER BY id"))).scalars()
        assert keys == ["legacy:1", "legacy:2"]
        assert list(log) == ["legacy:1", "legacy:2"]
    await db.dispose()
