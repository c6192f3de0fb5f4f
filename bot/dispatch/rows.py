"""The rows a dispatcher batch reads and changes by primary key (members, check-in totals …).

The ORM costs microseconds per attribute change and tens per object flushed; a batch of a few
hundred check-ins would spend most of its time there. So a batch keeps its own copies of
these rows: plain objects with the model's attribute names, what was read, and plain
``INSERT``/``UPDATE`` statements — one per table and changed-column set — when it writes.

Rules:
- A row read (or found missing) once is the same object for every later event of the batch.
- A new row is inserted as it is at write time; a read row is updated in the columns that
  differ from what was read, and only those (another writer's other columns stay as they are).
- After a write the rows are clean again and may be changed and written once more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from storage import direct
from storage.base import Base
from storage.direct import prepared

_columns: dict[type, list[str]] = {}
_pks: dict[type, list[str]] = {}
# the INSERT/UPDATE per (model, columns), built once: building costs more than running one
_writes: dict[tuple[str, type, tuple[str, ...]], Any] = {}


def columns(model: type[Base]) -> list[str]:
    """The column attributes of a mapped class (each named as its column)."""
    if model not in _columns:
        mapper = model.__mapper__
        names = [a.key for a in mapper.column_attrs]
        if names != [a.columns[0].name for a in mapper.column_attrs]:
            raise TypeError(f"{model.__name__}: attribute and column names differ")
        _columns[model] = names
    return _columns[model]


def pk_names(model: type[Base]) -> list[str]:
    names = _pks.get(model)
    if names is None:
        names = _pks[model] = [c.name for c in model.__mapper__.primary_key]
    return names


class Row:
    """A batch's copy of one row; setting an attribute marks it for writing."""

    _model: type[Base]

    def __init__(self, rows: Rows, model: type[Base], values: Mapping[str, Any]) -> None:
        d = self.__dict__
        d.update({c: values.get(c) for c in columns(model)})
        d["_rows"] = rows
        d["_model"] = model

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        d[name] = value
        d["_rows"].dirty[id(self)] = self

    def values(self) -> dict[str, Any]:
        d = self.__dict__
        return {c: d[c] for c in columns(d["_model"])}

    def pk(self) -> tuple[Any, ...]:
        d = self.__dict__
        return tuple(d[c] for c in pk_names(d["_model"]))


class Rows:
    def __init__(self) -> None:
        self.new: dict[int, Row] = {}
        self.dirty: dict[int, Row] = {}
        self.seen: dict[int, dict[str, Any]] = {}  # what the database holds, per read row

    def build(self, model: type[Base], row: Mapping[str, Any]) -> Row:
        """The batch's copy of a row read from the database."""
        obj = Row(self, model, row)
        self.seen[id(obj)] = obj.values()
        return obj

    def create(self, model: type[Base], values: Mapping[str, Any]) -> Row:
        obj = Row(self, model, values)
        self.new[id(obj)] = obj
        return obj

    @staticmethod
    def query(model: Any) -> Any:
        return select(*model.__table__.c)

    def drop(self, obj: Any) -> None:
        for d in (self.new, self.dirty, self.seen):
            d.pop(id(obj), None)

    def pending(self) -> bool:
        return bool(self.new or self.dirty)

    def write(self, conn: Connection) -> None:
        """INSERT the new rows and UPDATE the changed columns of the read ones."""
        inserts: dict[tuple[type[Base], tuple[str, ...]], list[dict[str, Any]]] = {}
        for key, obj in self.new.items():
            now = obj.values()
            vals = {c: v for c, v in now.items() if v is not None}  # (column defaults apply)
            inserts.setdefault((obj._model, tuple(sorted(vals))), []).append(vals)
            self.seen[key] = now
            self.dirty.pop(key, None)
        self.new = {}
        updates: dict[tuple[type[Base], tuple[str, ...]], list[dict[str, Any]]] = {}
        for key, obj in self.dirty.items():
            now, seen = obj.values(), self.seen.get(key)
            if seen is None:
                continue  # dropped
            changed = {c: v for c, v in now.items() if seen.get(c) != v}
            if changed:
                params = {f"pk_{c}": seen[c] for c in pk_names(obj._model)} | changed
                updates.setdefault((obj._model, tuple(sorted(changed))), []).append(params)
                seen.update(changed)
        self.dirty = {}
        for (model, _cols), rows in inserts.items():
            direct.run_sync(conn, _insert(model), rows)
        for (model, cols), rows in updates.items():
            direct.run_sync(conn, _update(model, cols), rows)


def _insert(model: type[Base]) -> Any:
    key = ("insert", model, ())
    if key not in _writes:
        _writes[key] = prepared(insert(model.__table__))
    return _writes[key]


def _update(model: type[Base], cols: tuple[str, ...]) -> Any:
    key = ("update", model, cols)
    if key not in _writes:
        table = model.__table__
        where = [table.c[c] == bindparam(f"pk_{c}") for c in pk_names(model)]
        _writes[key] = prepared(update(table).where(*where).values({c: bindparam(c) for c in cols}))
    return _writes[key]
