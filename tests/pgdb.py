"""Which database a test runs on: a SQLite file by default, PostgreSQL when
``GROUPBOT_TEST_DB=postgresql+asyncpg://…`` is set (CI runs the suite once each way).

Rules:
- Every test gets its own fresh database: one per ``(tmp_path, name)``, so a test that restarts
  a bot on "the same file" gets the same database back, and two names give two databases.
- On PostgreSQL a database is cloned from a template that already holds the schema at the
  migration head (``CREATE DATABASE … TEMPLATE``, milliseconds); tests of migrations themselves
  ask for an ``empty`` one. Databases are dropped when the test ends.
- The admin statements run on a helper thread with its own event loop, so this works from
  synchronous and asynchronous code alike.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

ENV = "GROUPBOT_TEST_DB"
T = TypeVar("T")

_pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="pgdb")
_drops: list[Future[None]] = []  # drops run in the background; waited for at the end
_lock = threading.Lock()
_created: dict[str, str] = {}  # key -> database name, for this test
_template: str | None = None
_spare: Future[str] | None = None  # the next clone, made while the current test runs
_count = 0


def pg_url() -> str | None:
    """The PostgreSQL URL tests were asked to use, or None (SQLite)."""
    url = os.environ.get(ENV, "").strip()
    return url or None


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    return _pool.submit(lambda: asyncio.run(fn())).result()


async def _admin(sql: list[str]) -> None:
    import asyncpg

    base = pg_url()
    assert base is not None
    dsn = _with_db(base, "postgres").replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        for stmt in sql:
            await conn.execute(stmt)
    finally:
        await conn.close()


async def _build_template(name: str) -> None:
    from storage.db import Database
    from storage.migrate import stamp

    base = pg_url()
    assert base is not None
    await _admin([f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'])
    db = Database(_with_db(base, name))
    try:
        await db.create_all()
        await stamp(db)
    finally:
        await db.dispose()


def _template_name() -> str:
    global _template
    if _template is None:
        name = f"gb_tpl_{os.getpid()}"
        _run(lambda: _build_template(name))
        _template = name
    return _template


def database_url(tmp_path: Path, name: str = "t.db", *, empty: bool = False) -> str:
    """The URL of this test's database called ``name`` (created on first use)."""
    base = pg_url()
    if base is None:
        return f"sqlite+aiosqlite:///{tmp_path / name}"
    key = f"{tmp_path}|{name}|{empty}"
    with _lock:
        db = _created.get(key)
        if db is None:
            db = _empty(key) if empty else _clone()
            _created[key] = db
    return _with_db(base, db)


def _empty(key: str) -> str:
    db = "gb_" + hashlib.sha1(key.encode()).hexdigest()[:20]
    _run(lambda: _admin([f'CREATE DATABASE "{db}" TEMPLATE template0']))
    return db


def _clone() -> str:
    """A clone of the template; the next one is made in the background meanwhile."""
    global _spare, _count
    template = _template_name()

    def make() -> Future[str]:
        global _count
        _count += 1
        name = f"gb_{os.getpid()}_{_count}"
        sql = [f'CREATE DATABASE "{name}" TEMPLATE "{template}"']
        return _pool.submit(lambda: (asyncio.run(_admin(sql)), name)[1])

    current = _spare or make()
    _spare = make()
    return current.result()


def drop_created() -> None:
    """Drop every database made for the test that just ended."""
    with _lock:
        names = list(_created.values())
        _created.clear()
    if names:
        sql = [f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names]
        _drops.append(_pool.submit(lambda: asyncio.run(_admin(sql))))


def drop_template() -> None:
    """Drop the template and the spare clone (end of the session)."""
    global _template, _spare
    for f in _drops:
        f.result()
    _drops.clear()
    names = [] if _spare is None else [_spare.result()]
    _spare = None
    if _template is not None:
        names.append(_template)
        _template = None
    if names:
        _run(lambda: _admin([f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names]))


async def scalar_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one query on either database (for tests that look at the tables directly)."""
    from sqlalchemy import text

    from storage.db import Database

    db = Database(url)
    try:
        async with db.read() as s:
            return [tuple(r) for r in (await s.execute(text(sql))).all()]
    finally:
        await db.dispose()
