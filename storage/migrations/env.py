"""Alembic environment: runs migrations over our async engine (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage import metadata
from storage.db import make_engine
from storage.migrate import COMPARE


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        # the models; storage/revision.py may pass others (its tests do)
        target_metadata=context.config.attributes.get("target_metadata", metadata),
        render_as_batch=connection.dialect.name == "sqlite",
        **COMPARE,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_online())
