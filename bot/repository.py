"""Repositories: how a feature reads and writes its tables, whatever unit of work it runs in.

A feature's repository (``class Checkins(Repository)`` in ``handlers/<feature>/repo.py``) is
the only code that touches the feature's tables. Handlers get it from their Context
(``ctx.repo(Checkins)``), web routes and jobs from a session (``Checkins(session)``); reads
return frozen dataclasses, writes are named methods (``.record(...)``).

Rules:
- One interface in every unit of work. In a dispatcher batch the repository is shared by the
  batch's events and its reads and writes go through the batch (bot/dispatch/batch.py): rows
  read once, written together at the end. Anywhere else (the one-event retry path, jobs, the
  web) the same calls read and write at once. A subclass never asks which one it runs in.
- Bulk reads are declared once, by the repository: ``preload(events, services)`` is run by the
  dispatcher before a batch for every repository a feature lists in ``Feature.repositories``.
  What it reads is what ``_row`` and ``_recall`` then answer from memory.
- Derived values (``_remember``/``_recall``) live as long as the batch and die with it; the
  write that changes what a value was derived from keeps it right (``_remember``, ``_adjust``).
- A plain write statement names the rows it changes (``_execute(stmt, changes=...)``), so no
  stale copy of them is read later in the batch.
- Unique constraints stay the last word: a conflict fails the batch and the one-event path runs
  its events again, where every read asks the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.dispatch.batch import Batch
from storage.base import Base
from storage.dialect import insert_ignore

if TYPE_CHECKING:
    from bot.events import Event
    from bot.services import Services

R = TypeVar("R", bound="Repository")


class Repository:
    """Base class of a feature's repository (see the module's rules)."""

    def __init__(self, session: AsyncSession, batch: Batch | None = None) -> None:
        self._session = session
        self._batch = batch if batch is not None else Batch(session, deferred=False)

    @classmethod
    def shared(cls: type[R], batch: Batch) -> R:
        """The batch's one instance of this repository (the core's; handlers use ctx.repo)."""
        found = batch.repos.get(cls)
        if found is None:
            found = batch.repos[cls] = cls(batch.session, batch)
        repo: R = found
        return repo

    @classmethod
    def preloads(cls) -> bool:
        """Whether the class declares a bulk read for a batch."""
        return cls.preload is not Repository.preload

    async def preload(self, events: Sequence[Event], services: Services) -> None:
        """Read in bulk what the batch's ``events`` will ask this repository (override)."""

    # --- rows by primary key (the batch's copies; ORM objects outside a batch) ----------------
    async def _row(self, model: type[Base], *pk: Any) -> Any:
        """The row for a primary key, or None; its attributes may be set (written later)."""
        return await self._batch.get(model, pk)

    def _new(self, model: type[Base], **values: Any) -> Any:
        """A new row, seen by the later reads of the unit of work and written with it."""
        return self._batch.new(model, **values)

    async def _load_rows(self, model: type[Base], keys: Iterable[tuple[Any, ...]]) -> None:
        """Read the rows for many primary keys in one query (in a batch; else nothing)."""
        await self._batch.preload(model, keys)

    # --- derived values -----------------------------------------------------------------------
    async def _recall(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        """A value derived by a query, read once per batch (every time outside one)."""
        return await self._batch.cached(key, load)

    def _remember(self, key: Hashable, value: Any, *, keep: bool = False) -> None:
        """Set what ``_recall(key)`` answers for the rest of the batch (``keep``: only when
        nothing is known yet). Outside a batch nothing is kept."""
        if self._batch.deferred:
            if keep:
                self._batch.memo.setdefault(key, value)
            else:
                self._batch.memo[key] = value

    def _known(self, key: Hashable) -> Any:
        """What the batch remembers under ``key``, or None."""
        return self._batch.memo.get(key) if self._batch.deferred else None

    def _adjust(self, key: Hashable, delta: int) -> None:
        """Keep a remembered count right after a change it was counted from."""
        self._batch.memo_add(key, delta)

    @property
    def _in_batch(self) -> bool:
        """True in a dispatcher batch: bulk reads are worth making (``preload`` uses it)."""
        return self._batch.deferred

    # --- statements ---------------------------------------------------------------------------
    async def _read(self, stmt: Any, params: dict[str, Any] | None = None) -> Any:
        """A query of tables the unit of work does not write (pending writes stay pending)."""
        return await self._batch.read(stmt, params)

    async def _query(
        self, stmt: Any, params: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> Any:
        """A statement that sees every write made before it (pending ones are written first);
        a list of parameter sets runs it for each."""
        return await self._session.execute(stmt, params)

    async def _scalar(self, stmt: Any) -> Any:
        return await self._session.scalar(stmt)

    async def _scalars(self, stmt: Any) -> list[Any]:
        return list((await self._session.scalars(stmt)).all())

    async def _execute(
        self, stmt: Any, *, changes: Iterable[tuple[type[Base], tuple[Any, ...]]] = ()
    ) -> Any:
        """Run a plain write statement; ``changes`` names the rows (model, primary key) it may
        change, which are read again when next asked for."""
        for model, pk in changes:
            self._batch.forget(model, pk)
        return await self._session.execute(stmt)

    def _add(self, obj: Base) -> None:
        """Add an ORM object (a table nothing reads in bulk: audit-like rows)."""
        self._session.add(obj)

    async def _insert(self, model: type[Base], row: dict[str, Any]) -> None:
        """INSERT one row (written with the batch; a conflict fails it)."""
        await self._batch.insert(model, row)

    async def _insert_ignore(
        self, model: type[Base], row: dict[str, Any], conflict: list[str]
    ) -> None:
        """INSERT one row unless the ``conflict`` columns match an existing one."""
        await self._batch.insert_ignore(model, row, conflict)

    async def _claim(self, model: type[Base], row: dict[str, Any], conflict: list[str]) -> bool:
        """Insert the row; True for the one caller that inserted it. In a batch the row is
        written with the batch as a plain INSERT: should it exist already, the unique
        constraint fails the batch and its events run again one by one, where this answers
        exactly (``INSERT … ON CONFLICT DO NOTHING RETURNING``)."""
        if self._batch.deferred:
            await self._batch.insert(model, row)
            return True
        table = model.__table__
        stmt = insert_ignore(self._session, table, conflict).returning(*table.primary_key)
        return (await self._session.execute(stmt, [row])).first() is not None

    async def _upsert_add(
        self,
        model: type[Base],
        key: dict[str, Any],
        add: dict[str, int],
        set_: dict[str, Any] | None = None,
    ) -> None:
        """Insert with ``add`` as counters or add them to the row (arithmetic in the database);
        ``set_`` columns take the latest value given."""
        await self._batch.upsert_add(model, key, add, set_)

    @property
    def _db(self) -> AsyncSession:
        """The session, for dialect helpers (``storage.dialect.insert(self._db, …)``)."""
        return self._session
