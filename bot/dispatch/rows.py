"""The rows a dispatcher batch reads and changes by primary key (members, check-in totals …).

The ORM's unit of work costs tens of microseconds per object; a batch of a few hundred
check-ins would spend most of its time there. So a batch keeps its own rows: model instances
that are never attached to the session, a copy of what was read, and plain ``INSERT``/
``UPDATE`` statements — one per table and changed-column set — when the batch writes.

Rules:
- A row read (or found missing) once is the same object for every later event of the batch.
- A new row is inserted as it is at write time; a read row is updated in the columns that
  differ from what was read, and only those (another writer's other columns stay as they are).
- After a write the rows are clean again and may be changed and written once more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

_columns: dict[type, list[tuple[str, str]]] = {}


def columns(model: type) -> list[tuple[str, str]]:
    """(attribute, column) pairs of a mapped class."""
    if model not in _columns:
        mapper = model.__mapper__  # type: ignore[attr-defined]
        _columns[model] = [(a.key, a.columns[0].name) for a in mapper.column_attrs]
    return _columns[model]


def pk_names(model: type) -> list[str]:
    return [c.name for c in model.__mapper__.primary_key]  # type: ignore[attr-defined]


def values_of(obj: Any) -> dict[str, Any]:
    state = obj.__dict__
    return {col: state.get(attr) for attr, col in columns(type(obj))}


class Rows:
    def __init__(self) -> None:
        self.new: list[Any] = []
        self.read: dict[int, tuple[Any, dict[str, Any]]] = {}

    def build(self, model: type, row: Mapping[str, Any]) -> Any:
        """An unattached instance for a row read from the database."""
        obj = model(**{attr: row[col] for attr, col in columns(model)})
        self.read[id(obj)] = (obj, dict(row))
        return obj

    def query(self, model: Any) -> Any:
        return select(*model.__table__.c)

    def added(self, obj: Any) -> None:
        self.new.append(obj)

    def drop(self, obj: Any) -> None:
        self.read.pop(id(obj), None)
        if obj in self.new:
            self.new.remove(obj)

    def dirty(self) -> bool:
        if self.new:
            return True
        return any(values_of(obj) != seen for obj, seen in self.read.values())

    def write(self, session: Session) -> None:
        """INSERT the new rows and UPDATE the changed columns of the read ones."""
        inserts: dict[tuple[type, tuple[str, ...]], list[dict[str, Any]]] = {}
        for obj in self.new:
            vals = {k: v for k, v in values_of(obj).items() if v is not None}
            inserts.setdefault((type(obj), tuple(sorted(vals))), []).append(vals)
            self.read[id(obj)] = (obj, values_of(obj))
        self.new = []
        updates: dict[tuple[type, tuple[str, ...]], list[dict[str, Any]]] = {}
        for obj, seen in self.read.values():
            now = values_of(obj)
            changed = {c: v for c, v in now.items() if seen.get(c) != v}
            if not changed:
                continue
            model = type(obj)
            params = {f"pk_{c}": now[c] for c in pk_names(model)} | changed
            updates.setdefault((model, tuple(sorted(changed))), []).append(params)
            seen.update(changed)
        for (model, _cols), rows in inserts.items():
            session.execute(insert(model.__table__), rows)  # type: ignore[attr-defined]
        for (model, cols), rows in updates.items():
            table = model.__table__  # type: ignore[attr-defined]
            where = [table.c[c] == bindparam(f"pk_{c}") for c in pk_names(model)]
            stmt = update(table).where(*where).values({c: bindparam(c) for c in cols})
            session.execute(stmt, rows)
