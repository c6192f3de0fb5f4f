"""Migrations build exactly the schema the models describe, and upgrade is idempotent — on
SQLite, and on PostgreSQL when GROUPBOT_TEST_DB is set. "Exactly" is Alembic's
compare_metadata with the options autogenerate uses (storage.migrate.COMPARE): tables, columns,
types, nullability, indexes, unique constraints, foreign keys and server defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import DefaultClause, Index, MetaData, String, UniqueConstraint, text
from sqlalchemy.engine import Connection

from storage import metadata
from storage.db import Database
from storage.migrate import alembic_config, current, schema_diff, upgrade
from storage.types import UTCDateTime
from tests import pgdb


async def test_upgrade_head_matches_models(tmp_path: Path) -> None:
    db = Database(pgdb.database_url(tmp_path, "m.db", empty=True))
    await upgrade(db)
    await upgrade(db)  # idempotent
    assert await current(db) is not None
    changes = await schema_diff(db)
    await db.dispose()
    assert changes == [], f"models and migrations differ: {changes}"


def _models_plus(extra: str) -> MetaData:
    """A copy of the models with one more schema element than the migrations make."""
    target = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(target)
    members = target.tables["members"]
    if extra == "index":
        Index("ix_members_name", members.c.name)
    elif extra == "unique":
        members.append_constraint(UniqueConstraint("group_id", "name"))
    elif extra == "server_default":
        members.c.name.server_default = DefaultClause(text("'someone'"))
    elif extra == "type":
        members.c.name.type = String(7)
    return target


def _kinds(diff: list[Any]) -> list[str]:
    """The operation names of a compare_metadata result (column changes come grouped)."""
    return [d[0][0] if isinstance(d, list) else d[0] for d in diff]


async def test_the_comparison_sees_every_kind_of_difference(tmp_path: Path) -> None:
    """The check above cannot pass by looking at too little: an index, a unique constraint,
    a server default or a type the migrations do not make is reported."""
    db = Database(pgdb.database_url(tmp_path, "m.db", empty=True))
    await upgrade(db)
    seen = {}
    for extra in ("index", "unique", "server_default", "type"):
        seen[extra] = _kinds(await schema_diff(db, _models_plus(extra)))
    await db.dispose()
    assert seen == {
        "index": ["add_index"],
        "unique": ["add_constraint"],
        "server_default": ["modify_default"],
        "type": ["modify_type"],
    }


async def test_newest_revision_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    db = Database(pgdb.database_url(tmp_path, "m.db", empty=True))
    await upgrade(db)
    head = await current(db)

    def down(conn: Connection) -> None:
        cfg = alembic_config(db.url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")

    async with db.engine.begin() as conn:
        await conn.run_sync(down)
    assert await current(db) != head
    await upgrade(db)
    assert await current(db) == head
    assert await schema_diff(db) == []
    await db.dispose()


def test_a_url_with_percent_signs_is_taken_as_it_is() -> None:
    """A password with a URL-escaped character (``%40`` is '@') must not trip Alembic's
    config interpolation."""
    url = "postgresql+asyncpg://bot:p%40ss@127.0.0.1/groupbot"
    assert alembic_config(url).get_main_option("sqlalchemy.url") == url


async def test_upgrade_keeps_rows_written_before_the_key_columns(tmp_path: Path) -> None:
    """Rows from before revision 0007 get a unique legacy key; the upgrade does not fail."""
    from sqlalchemy import Boolean, bindparam

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
        revoked_by = (await conn.execute(text("SELECT revoked_by FROM warnings"))).scalars()
        assert keys == ["legacy:1", "legacy:2"]
        assert list(log) == ["legacy:1", "legacy:2"]
        assert list(revoked_by) == ["", ""]
    await db.dispose()
