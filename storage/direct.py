"""Hot statements compiled once and run on the driver connection (SQLite, PostgreSQL).

At everyday load a dispatcher batch holds one event, so what every statement costs in
SQLAlchemy's execution path (cache-key look-up, execution context, parameter and result
processing objects, events) is paid for each event: ~60 µs of CPU per statement on a warm
loop and 3–4 times that between events, for ~5 µs of SQLite. A statement built once at import
and named with ``prepared(stmt)`` is instead compiled once per dialect into a plan — SQL
text, positional parameter order with each column's bind processor, defaults, result columns
with their result processors — and run with ``run``/``run_sync`` on the SQLAlchemy
connection's own driver connection: same transaction, same types, same SQL.

Rules:
- SQLite through the project's inline driver (storage/sqlite_inline.py) and PostgreSQL through
  asyncpg (storage/direct_pg.py: the driver's prepared statement, in the transaction the
  SQLAlchemy connection began) take the direct path; on any other engine, and for statements
  not ``prepared``, the call is plain ``Connection.execute`` — the result has the same
  interface either way (``all``, ``first``, ``scalar``, ``scalars``, ``mappings``,
  ``rowcount``; rows by position and attribute).
- The connection's ``before_cursor_execute`` listeners run as they would in SQLAlchemy (the
  batch's write-lock escalation in storage/db.py, statement counts in tests), and a driver
  error is raised as SQLAlchemy's wrapped error (``IntegrityError`` …).
- A prepared statement must be complete at compile time: expanding ``IN`` lists are allowed
  (SQLite: one SQL text per list length, kept; PostgreSQL: one array parameter,
  ``= ANY($n)``, whatever the length), Python-side column defaults of an INSERT are filled in
  from the column, SQL defaults are rendered by the compiler; a plan that would need anything
  else (a context-sensitive default, an ``onupdate``) is refused at compile time.
- ``INSERT``/``UPDATE`` statements compile for the columns of the first parameter set; every
  set of one call has the same keys (the batch groups its writes by column set).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import direct_pg
from storage.direct_result import Result
from storage.sqlite_inline import InlineDBAPI, retry_busy

Params = dict[str, Any] | Sequence[dict[str, Any]] | None
_REQUIRED = object()
# id(statement) -> (statement, {column keys or None: SQLite plan}, {…: PostgreSQL plan or None
# when it cannot have one}); the statement is kept so its id is never reused while known here
_PREPARED: dict[int, tuple[Any, dict[Any, Plan], dict[Any, Plan | None]]] = {}


def prepared(stmt: Any) -> Any:
    """Mark a statement built once (module level) for the direct path; returns it."""
    _PREPARED.setdefault(id(stmt), (stmt, {}, {}))
    return stmt


class Plan:
    """One compiled statement: its SQL, how to build positional parameters, and its rows."""

    __slots__ = (
        "_get",
        "_procs",
        "_texts",
        "binds",
        "expanding",
        "is_query",
        "is_select",
        "keys",
        "results",
        "row",
        "sql",
    )

    def __init__(
        self, stmt: Any, dialect: Any, column_keys: list[str] | None, arrays: bool = False
    ) -> None:
        """``arrays`` (PostgreSQL): an ``IN`` list is one array parameter, passed as a list."""
        compiled = stmt.compile(dialect=dialect, column_keys=column_keys)
        if compiled.update_prefetch:
            raise ValueError("statement needs SQLAlchemy's execution context")
        by_name = {name: bp for bp, name in compiled.bind_names.items()}
        prefetch = {c.key: c for c in compiled.insert_prefetch}
        procs = compiled._bind_processors
        # (name, key, default, processor, expanding) in positional order
        self.binds: list[tuple[str, str, Any, Any, bool]] = []
        for name in compiled.positiontup or ():
            bp = by_name[name]
            default: Any = _REQUIRED
            if bp.key in prefetch:
                col = prefetch[bp.key]
                if col.default is None or not col.default.is_scalar:
                    raise ValueError(f"column {col.key}: a default SQLAlchemy must compute")
                default = col.default.arg
            elif not bp.required:
                default = bp.effective_value
            self.binds.append((name, bp.key, default, procs.get(name), bp.expanding))
        self.sql: str = compiled.string
        if arrays:
            from storage.direct_pg import array_binds

            self.sql, self.binds = array_binds(self.sql, self.binds)
        self.expanding = any(b[4] for b in self.binds)
        # the common case — every value given, no IN list — in two C-level steps
        keys = [b[1] for b in self.binds]
        self._get: Any = itemgetter(*keys) if len(keys) > 1 and not self.expanding else None
        self._procs = [(i, b[3]) for i, b in enumerate(self.binds) if b[3] is not None]
        self._texts: dict[tuple[int, ...], str] = {}
        cols = compiled._result_columns
        self.is_select = bool(cols)  # rows come back (a SELECT, or RETURNING)
        self.is_query = self.is_select and not getattr(stmt, "is_dml", False)  # reads only
        self.keys = [c.keyname for c in cols]
        self.results = [c.type._cached_result_processor(dialect, None) for c in cols]
        self.row: Any = namedtuple("Row", self.keys, rename=True) if self.keys else None

    def params(self, given: dict[str, Any]) -> tuple[str, list[Any]]:
        """The SQL text (expanded for the ``IN`` lists' lengths) and positional values."""
        if self._get is not None:
            try:
                values = list(self._get(given))
            except KeyError:  # (a value left to its default: the general way below)
                pass
            else:
                for i, proc in self._procs:
                    values[i] = proc(values[i])
                return self.sql, values
        out: list[Any] = []
        lengths: list[int] = []
        for _name, key, default, proc, expanding in self.binds:
            value = given.get(key, default)
            if value is _REQUIRED:
                raise exc.ArgumentError(f"a value is required for bind parameter {key!r}")
            if expanding:
                values = list(value)
                lengths.append(len(values))
                out.extend(values if proc is None else [proc(v) for v in values])
            else:
                out.append(value if proc is None else proc(value))
        if not self.expanding:
            return self.sql, out
        return self._text(tuple(lengths)), out

    def _text(self, lengths: tuple[int, ...]) -> str:
        sql = self._texts.get(lengths)
        if sql is None:
            sql = self.sql
            it = iter(lengths)
            for name, _k, _d, _p, expanding in self.binds:
                if expanding:
                    n = next(it)
                    # an empty list matches nothing (SQLAlchemy renders the same)
                    marks = ", ".join("?" * n) if n else "SELECT 1 FROM (SELECT 1) WHERE 1!=1"
                    sql = sql.replace(f"__[POSTCOMPILE_{name}]", marks, 1)
            if len(self._texts) < 64:
                self._texts[lengths] = sql
        return sql

    def call(self, params: Params) -> tuple[str, Any, bool]:
        """(SQL, positional values — a list of them for many sets —, many)."""
        if params is None or isinstance(params, dict):
            return *self.params(params or {}), False
        if self.expanding:  # (one text per list length: not one executemany)
            raise ValueError("a prepared statement with IN lists takes one parameter set")
        return self.sql, [self.params(p)[1] for p in params], True

    def rows(self, raw: list[Any]) -> list[Any]:
        results, make = self.results, self.row
        if any(p is not None for p in results):
            return [
                make(*[v if p is None else p(v) for p, v in zip(results, r, strict=True)])
                for r in raw
            ]
        return [make(*r) for r in raw]


def _inline(conn: Connection | AsyncConnection) -> bool:
    return isinstance(conn.dialect.loaded_dbapi, InlineDBAPI)


def _plan(conn: Connection, stmt: Any, params: Params) -> Plan | None:
    found = _PREPARED.get(id(stmt))
    if found is None:
        return None
    first = params if isinstance(params, dict) or params is None else params[0]
    # like SQLAlchemy: an INSERT/UPDATE compiles for the keys of the (first) parameter set
    cols = sorted(first) if first is not None and getattr(stmt, "is_dml", False) else None
    key = None if cols is None else tuple(cols)
    if not _inline(conn):
        if not direct_pg.asyncpg(conn):
            return None
        pg = found[2]
        if key not in pg:
            try:
                pg[key] = Plan(stmt, conn.dialect, cols, arrays=True)
            except ValueError:  # (one SQLAlchemy can run but this path cannot: it runs there)
                pg[key] = None
        return pg[key]
    plans = found[1]
    plan = plans.get(key)
    if plan is None:
        plan = plans[key] = Plan(stmt, conn.dialect, cols)
    return plan


@contextmanager
def _driver_call(
    conn: Connection, cursor: Any, sql: str, values: Any, many: bool
) -> Iterator[None]:
    """Around a statement run on the driver's cursor: the connection's ``before_cursor_execute``
    listeners first, a driver error raised as SQLAlchemy raises it, the cursor closed after."""
    try:
        if conn._has_events or conn.engine._has_events:
            conn.dispatch.before_cursor_execute(conn, cursor, sql, values, None, many)
        yield
    except conn.dialect.loaded_dbapi.Error as e:
        raise exc.DBAPIError.instance(
            sql, values, e, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
        ) from e
    finally:
        cursor.close()


def run_sync(conn: Connection, stmt: Any, params: Params = None) -> Any:
    """Execute ``stmt`` on a (sync) connection: directly when prepared and on SQLite, else
    through SQLAlchemy. Must run where SQLAlchemy's sync calls may (``run_sync``)."""
    plan = _plan(conn, stmt, params)
    if plan is None:
        return conn.execute(stmt, params)
    sql, values, many = plan.call(params)
    if not conn.in_transaction():
        conn.begin()  # (SQLAlchemy's autobegin)
    if not _inline(conn):  # PostgreSQL
        got, count = direct_pg.execute_sync(conn, sql, values, many, plan.is_select)
        return Result(plan.keys, plan.rows(got) if got else [], count)
    dbapi_conn = conn.connection.dbapi_connection
    assert dbapi_conn is not None
    cursor = dbapi_conn.cursor()
    with _driver_call(conn, cursor, sql, values, many):
        if many:
            cursor.executemany(sql, values)
            raw: Any = []
        else:
            cursor.execute(sql, values)
            raw = cursor.fetchall() if plan.is_select else []
        rowcount = cursor.rowcount
    return Result(plan.keys, plan.rows(raw) if raw else [], rowcount)


async def run(conn: AsyncConnection, stmt: Any, params: Params = None) -> Any:
    """``run_sync`` from async code, on the async connection's transaction. A prepared query
    (rows back, one parameter set) in a transaction already begun runs on the loop itself:
    no greenlet, the driver's busy wait awaited directly."""
    found = _PREPARED.get(id(stmt))
    if found is None:
        return await conn.execute(stmt, params)
    if not _inline(conn):
        return await _run_pg(conn, stmt, params)
    sync = conn.sync_connection
    plans = found[1]
    plan = plans.get(None)
    if (
        plan is None
        or not plan.is_query
        or sync is None
        or not sync.in_transaction()
        or not (params is None or isinstance(params, dict))
    ):
        return await conn.run_sync(run_sync, stmt, params)
    sql, values = plan.params(params or {})
    dbapi_conn: Any = sync.connection.dbapi_connection
    cursor = dbapi_conn.raw.cursor()
    with _driver_call(sync, cursor, sql, values, False):
        await retry_busy(dbapi_conn.timeout_ms, cursor.execute, sql, values)
        raw = cursor.fetchall()
    return Result(plan.keys, plan.rows(raw) if raw else [], -1)


async def _run_pg(conn: AsyncConnection, stmt: Any, params: Params) -> Any:
    """PostgreSQL: a prepared statement on the asyncpg connection, in the connection's
    transaction (storage/direct_pg.py); SQLAlchemy's path for anything else."""
    sync = conn.sync_connection
    plan = None if sync is None or not sync.in_transaction() else _plan(sync, stmt, params)
    if sync is None or plan is None:
        return await conn.execute(stmt, params)
    sql, values, many = plan.call(params)
    raw, count = await direct_pg.execute(sync, sql, values, many, plan.is_select)
    return Result(plan.keys, plan.rows(raw) if raw else [], count)
