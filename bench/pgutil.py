"""Benchmark helpers shared by the benches: a fresh database per run (SQLite file or a new
PostgreSQL database in the cluster ``--db`` points at), row counts on either, process RSS."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    dsn = _with_db(url, "postgres").replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fresh_url(db: str | None, tmp: Path, name: str) -> str:
    """A new empty database: a SQLite file in ``tmp``, or a new database next to ``db``."""
    if not db:
        return f"sqlite+aiosqlite:///{tmp / (name + '.db')}"
    dbname = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    await _admin(db, f'CREATE DATABASE "{dbname}"')
    return _with_db(db, dbname)


async def drop_url(url: str) -> None:
    if url.startswith("postgresql"):
        name = urlsplit(url).path.lstrip("/")
        await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def rows(url: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """The rows of one query, on SQLite or PostgreSQL."""
    from sqlalchemy import text

    from storage.db import Database

    db = Database(url)
    try:
        async with db.read() as s:
            return [tuple(r) for r in (await s.execute(text(sql), params or {})).all()]
    finally:
        await db.dispose()


def rss_mib(pid: int) -> float:
    """Resident set size of a process, in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def describe_db(url: str) -> str:
    return "PostgreSQL (asyncpg)" if url.startswith("postgresql") else "SQLite"
