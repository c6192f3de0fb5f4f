"""The direct path of storage/direct.py on PostgreSQL: asyncpg's prepared statement, run in the
transaction the SQLAlchemy connection began.

SQLAlchemy's execution path costs ~120 µs of CPU per statement on top of asyncpg's ~60 µs
(cache key, execution context, parameter and result objects, the greenlet hop), and an ``IN``
list of a new length is a new SQL text — a new server-side PREPARE — every time. Here a
``prepared`` statement is compiled once for the asyncpg dialect into ``$n`` SQL, and run as
SQLAlchemy's asyncpg adapter runs it, on the same adapter connection:

Rules:
- The adapter's own statement cache (``_prepare``: one server-side prepared statement per SQL
  text, shared with SQLAlchemy's path), its lock, and its transaction: a connection SQLAlchemy
  has begun gets its ``BEGIN`` from the first statement, whichever path runs it; an
  ``AUTOCOMMIT`` connection runs each statement as its own transaction.
- An ``IN`` list is one array parameter (``col = ANY($n)``, ``NOT IN`` as ``<> ALL($n)``): one
  SQL text and one server plan whatever the length; an empty list matches nothing as
  SQLAlchemy's empty ``IN`` does. A statement this cannot express (a tuple ``IN``, a literal
  rendered at execution) has no plan and runs through SQLAlchemy.
- Parameters and rows go through the same bind and result processors as SQLAlchemy's; an
  error is raised as SQLAlchemy raises it (``IntegrityError`` …, a lost connection
  invalidated) by the connection's own error handling; ``before_cursor_execute`` listeners
  see the statement.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.util import await_only, greenlet_spawn

_POSTCOMPILE = re.compile(r"(NOT IN|IN) \(__\[POSTCOMPILE_(\w+)\]\)")
_STATUS = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+) (\d+)")
Bind = tuple[str, str, Any, Any, bool]


def array_binds(sql: str, binds: list[Bind]) -> tuple[str, list[Bind]]:
    """``sql`` with each expanding ``IN`` list as one array parameter after the others, and the
    binds in their new positional order (raises ValueError when that cannot be done)."""
    plain = [b for b in binds if not b[4]]
    arrays = [b for b in binds if b[4]]
    numbers = {b[0]: len(plain) + i + 1 for i, b in enumerate(arrays)}

    def one(m: re.Match[str]) -> str:
        op = "<> ALL" if m.group(1) == "NOT IN" else "= ANY"
        return f"{op}(${numbers[m.group(2)]})"

    out, n = _POSTCOMPILE.subn(one, sql)
    if n != len(arrays) or "__[POSTCOMPILE_" in out:
        raise ValueError("a parameter rendered at execution that is not a plain IN list")
    return out, plain + [(name, key, d, _each(proc), False) for name, key, d, proc, _e in arrays]


def _each(proc: Any) -> Any:
    if proc is None:
        return list
    return lambda values: [proc(v) for v in values]


def asyncpg(conn: Connection) -> bool:
    return conn.dialect.driver == "asyncpg"


async def execute(
    conn: Connection, sql: str, values: list[Any], many: bool, rows: bool
) -> tuple[list[Any], int]:
    """Run ``sql`` on the connection's asyncpg connection; returns (records, rowcount). Call it
    from async code (errors are handled in a greenlet, as SQLAlchemy handles them)."""
    try:
        return await _execute(conn, sql, values, many, rows)
    except Exception as e:
        await greenlet_spawn(_raise, conn, e, sql, values)
        raise  # (not reached: _raise raises)


def execute_sync(
    conn: Connection, sql: str, values: list[Any], many: bool, rows: bool
) -> tuple[list[Any], int]:
    """``execute`` where SQLAlchemy's sync calls may run (in its greenlet)."""
    try:
        return await_only(_execute(conn, sql, values, many, rows))
    except Exception as e:
        _raise(conn, e, sql, values)
        raise


async def _execute(
    conn: Connection, sql: str, values: list[Any], many: bool, rows: bool
) -> tuple[list[Any], int]:
    adapt: Any = conn.connection.dbapi_connection
    dialect: Any = conn.dialect
    if conn._has_events or conn.engine._has_events:
        conn.dispatch.before_cursor_execute(conn, adapt.cursor(), sql, values, None, many)
    async with adapt._execute_mutex:
        if adapt._transaction is None:
            await adapt._start_transaction()  # (nothing on an AUTOCOMMIT connection)
        stmt, _attrs = await adapt._prepare(sql, dialect._invalidate_schema_cache_asof)
        if many:
            await stmt.executemany(values)
            return [], -1
        found = await stmt.fetch(*values)
        status = _STATUS.match(stmt.get_statusmsg() or "")
        return (found if rows else []), (int(status.group(1)) if status else -1)


def _raise(conn: Connection, e: Exception, sql: str, values: list[Any]) -> None:
    """Raise ``e`` as SQLAlchemy's execution path raises a driver error."""
    adapt: Any = conn.connection.dbapi_connection
    dialect: Any = conn.dialect
    dbapi: Any = dialect.loaded_dbapi
    if not isinstance(e, dbapi.Error):
        try:
            adapt._handle_exception(e)  # asyncpg's error as the adapter's DBAPI error
        except Exception as mapped:
            e = mapped
    if isinstance(e, (dbapi.InvalidCachedStatementError, dbapi.InternalServerError)):
        dialect._invalidate_schema_cache()
    conn._handle_dbapi_exception(e, sql, values, None, None)
