"""What the events of one batch share: rows read once, and writes made together.

The dispatcher runs a batch of events in one transaction. Most events (a ``/签到``, a chat
line) read and bump the same few rows, so instead of a handful of statements per event the
batch reads what its events need in a few bulk queries and writes their rows at the end.

Rules:
- A Batch lives inside one transaction and dies with it: a rollback discards everything it
  read or holds, and the events are run again from the database.
- ``get`` returns the row for a primary key (or None) and remembers the answer, absent
  included, for the rest of the batch; ``new`` makes a new row known to later events;
  ``preload`` fetches many keys with one query. Such rows are the batch's own (bot/dispatch/
  rows.py): written with the batch's other rows, not by the ORM. Code that changes one of
  these tables by a plain statement must ``forget`` what it changed.
- ``insert``/``insert_ignore``/``upsert_add`` rows are written in one statement per table
  shape, before the commit and before any other statement the session runs (like the ORM's
  autoflush), so a query later in the batch sees them. ``upsert_add`` adds counters and sets
  values on conflict: the arithmetic happens in the database, so nothing is lost to a writer
  outside the batch.
- ``memo`` keeps values derived by query (a member count, recent posts) for the batch; the
  code that changes what a value was derived from keeps it right (``memo_add``).
- An immediate Batch (``deferred=False``: jobs, the web, the dispatcher's one-event retry path)
  caches nothing and writes at once, so handler code reads the same in every mode.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any

from sqlalchemy import bindparam, event, func
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from bot.dispatch.rows import Rows, pk_names
from storage import direct
from storage.base import Base
from storage.dialect import dialect_name
from storage.dialect import insert as dialect_insert
from storage.direct import prepared

CHUNK = 400  # keys per bulk query (two bound parameters each, well under every limit)
NO_FLUSH = "groupbot_batch_read"
# Statements are built once per table shape and reused: building one (and its cache key) costs
# more than running it, and a batch at everyday load holds a single event.
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _orm(stmt: Any) -> bool:
    """Whether a statement names mapped classes (its rows may be entities, the session's)."""
    return getattr(stmt, "_propagate_attrs", {}).get("compile_state_plugin") == "orm"


def _statement(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = prepared(build())
    return stmt


class Batch:
    def __init__(self, session: AsyncSession, *, deferred: bool = True) -> None:
        self.session = session
        self.deferred = deferred
        self.rows: dict[tuple[type, tuple[Any, ...]], Any] = {}
        self.memo: dict[Hashable, Any] = {}
        # (model, conflict columns or None, columns) -> rows, in the order they were made
        self._inserts: dict[tuple[Any, tuple[str, ...] | None, tuple[str, ...]], list[Any]] = {}
        # (model, key columns, added columns, set columns) -> key -> (added, set values)
        self._upserts: dict[tuple[Any, ...], dict[tuple[Any, ...], list[dict[str, Any]]]] = {}
        self._rows = Rows()
        self._flushing = False
        self._listening = False
        self.emitted = False  # a follow-up event was queued in the inbox (Context.emit)
        self.repos: dict[type, Any] = {}  # the batch's repositories (bot/repository.py)
        self._conn: AsyncConnection | None = None  # the session's connection, once asked
        if deferred:  # (one listener for all sessions, below: no listen/remove per batch)
            session.sync_session.info[_BATCH] = self
            self._listening = True

    # --- rows by primary key ----------------------------------------------------------------
    async def get(self, model: type[Base], pk: tuple[Any, ...]) -> Any:
        if not self.deferred:
            return await self.session.get(model, pk)
        key = (model, pk)
        if key not in self.rows:
            names = pk_names(model)
            stmt = _statement(("get", model), lambda: self._by_pk(model, names))
            params = {f"k_{c}": v for c, v in zip(names, pk, strict=True)}
            row = (await self.read(stmt, params)).mappings().first()
            self.rows[key] = None if row is None else self._rows.build(model, row)
        return self.rows[key]

    def new(self, model: type[Base], **values: Any) -> Any:
        """A new row, known to the later events of the batch and written with it."""
        if not self.deferred:
            obj = model(**values)
            self.session.add(obj)
            return obj
        row = self._rows.create(model, values)
        self.rows[(model, row.pk())] = row
        return row

    def forget(self, model: type[Base], pk: tuple[Any, ...]) -> None:
        """After a plain statement changed this row: read it again next time."""
        obj = self.rows.pop((model, pk), None)
        if obj is not None:
            self._rows.drop(obj)

    async def preload(self, model: Any, keys: Iterable[tuple[Any, ...]]) -> None:
        """Fetch the rows for ``keys`` (primary keys) in bulk; absent keys are remembered."""
        if not self.deferred:
            return
        todo = list(dict.fromkeys(k for k in keys if (model, k) not in self.rows))
        if not todo:
            return
        cols = list(model.__mapper__.primary_key)
        stmt = _statement(("preload", model), lambda: self._by_pks(model, cols))
        for i in range(0, len(todo), CHUNK):
            chunk = todo[i : i + CHUNK]
            # one IN list per key column (cheaper than a tuple IN); the few extra rows it may
            # bring are real rows, and kept
            params = {f"k_{c.name}": sorted({k[n] for k in chunk}) for n, c in enumerate(cols)}
            found = await self.read(stmt, params)
            for row in found.mappings().all():
                key = (model, tuple(row[c.name] for c in cols))
                if key not in self.rows:
                    self.rows[key] = self._rows.build(model, row)
            for k in chunk:
                self.rows.setdefault((model, k), None)

    async def read(self, stmt: Any, params: dict[str, Any] | None = None) -> Any:
        """Run a query that needs none of the batch's pending writes (they stay pending):
        keys already known to the batch are never fetched again, and the tables read are
        ones the batch does not write."""
        if not _orm(stmt):  # plain columns: the session's connection, without the ORM layer
            conn = self._conn
            if conn is None:
                conn = await self.session.connection()
                if self.deferred:  # (a batch lives in one transaction: one connection)
                    self._conn = conn
            return await direct.run(conn, stmt, params)
        with self.session.no_autoflush:
            return await self.session.execute(stmt, params, execution_options={NO_FLUSH: True})

    def _by_pk(self, model: Any, names: list[str]) -> Any:
        table = model.__table__
        return self._rows.query(model).where(*[table.c[c] == bindparam(f"k_{c}") for c in names])

    def _by_pks(self, model: Any, cols: list[Any]) -> Any:
        cond = [c.in_(bindparam(f"k_{c.name}", expanding=True)) for c in cols]
        return self._rows.query(model).where(*cond)

    # --- derived values ---------------------------------------------------------------------
    async def cached(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        if not self.deferred:
            return await load()
        if key not in self.memo:
            self.memo[key] = await load()
        return self.memo[key]

    def memo_add(self, key: Hashable, delta: int) -> None:
        """Keep a remembered count right after a change it was counted from."""
        if key in self.memo:
            self.memo[key] += delta

    # --- writes ------------------------------------------------------------------------------
    async def insert(self, model: Any, row: dict[str, Any]) -> None:
        """INSERT one row (a conflict fails the batch: the constraint is the last word)."""
        await self._insert(model, None, row)

    async def insert_ignore(self, model: Any, row: dict[str, Any], conflict: list[str]) -> None:
        """INSERT one row unless ``conflict`` columns match an existing one."""
        await self._insert(model, tuple(conflict), row)

    async def _insert(
        self, model: Any, conflict: tuple[str, ...] | None, row: dict[str, Any]
    ) -> None:
        shape = (model, conflict, tuple(sorted(row)))
        if self.deferred:
            self._inserts.setdefault(shape, []).append(row)
        else:
            await self.session.execute(self._insert_stmt(shape), [row])

    async def upsert_add(
        self,
        model: Any,
        key: dict[str, Any],
        add: dict[str, int],
        set_: dict[str, Any] | None = None,
    ) -> None:
        """Insert the row with ``add`` as its counters, or add them to the existing row; columns
        in ``set_`` take the latest value given (None leaves them as they are)."""
        set_ = set_ or {}
        shape = (model, tuple(key), tuple(sorted(add)), tuple(sorted(set_)))
        if not self.deferred:
            await self.session.execute(self._upsert_stmt(shape), [{**key, **add, **set_}])
            return
        rows = self._upserts.setdefault(shape, {})
        k = tuple(key.values())
        if k not in rows:
            rows[k] = [dict(key), dict(add), dict(set_)]
            return
        have = rows[k]
        for col, n in add.items():
            have[1][col] += n
        for col, v in set_.items():
            if v is not None:
                have[2][col] = v

    # --- flushing -----------------------------------------------------------------------------
    def _insert_stmt(self, shape: tuple[Any, ...]) -> Any:
        return _statement(("insert", dialect_name(self.session), *shape), lambda: self._ins(shape))

    def _ins(self, shape: tuple[Any, ...]) -> Any:
        model, conflict, _cols = shape
        stmt = dialect_insert(self.session, model.__table__)
        return stmt if conflict is None else stmt.on_conflict_do_nothing(index_elements=conflict)

    def _upsert_stmt(self, shape: tuple[Any, ...]) -> Any:
        return _statement(("upsert", dialect_name(self.session), *shape), lambda: self._ups(shape))

    def _ups(self, shape: tuple[Any, ...]) -> Any:
        model, key_cols, add_cols, set_cols = shape
        table = model.__table__
        stmt = dialect_insert(self.session, table)
        ex = stmt.excluded
        update: dict[str, Any] = {c: table.c[c] + ex[c] for c in add_cols}
        update.update({c: func.coalesce(ex[c], table.c[c]) for c in set_cols})
        return stmt.on_conflict_do_update(index_elements=list(key_cols), set_=update)

    @property
    def pending(self) -> bool:
        return bool(self._inserts or self._upserts) or self._rows.pending()

    def _flush_sync(self, session: Session) -> None:
        if self._flushing or not self.pending:
            return
        self._flushing = True
        try:
            # Core statements on the session's connection (its transaction): the ORM layer of
            # session.execute costs about as much again as the statement
            conn = session.connection()
            self._rows.write(conn)
            inserts, self._inserts = self._inserts, {}
            upserts, self._upserts = self._upserts, {}
            for shape, rows in inserts.items():
                direct.run_sync(conn, self._insert_stmt(shape), rows)
            for shape, keyed in upserts.items():
                params = [{**k, **a, **s} for k, a, s in keyed.values()]
                direct.run_sync(conn, self._upsert_stmt(shape), params)
        finally:
            self._flushing = False

    def _before_execute(self, state: Any) -> None:
        if not state.execution_options.get(NO_FLUSH):
            self._flush_sync(state.session)

    async def flush(self) -> None:
        """Write the deferred rows now (the dispatcher calls this before it commits)."""
        if self.pending:
            await self.session.run_sync(self._flush_sync)

    def close(self) -> None:
        if self._listening:
            info = self.session.sync_session.info
            if info.get(_BATCH) is self:
                del info[_BATCH]
            self._listening = False


_BATCH = "groupbot_batch"  # session.info key: the deferred batch the session runs


@event.listens_for(Session, "do_orm_execute")
def _autoflush(state: Any) -> None:
    """Before any ORM statement of a session that runs a deferred batch: write what the batch
    holds (registered once for every session; listening per batch cost more than a batch)."""
    batch = state.session.info.get(_BATCH)
    if batch is not None:
        batch._before_execute(state)
