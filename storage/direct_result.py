"""What a statement run by storage/direct.py answers: the methods of SQLAlchemy's ``Result``
the project uses, over rows built once (by position and by attribute)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import exc


class Result:
    """What a direct statement answers: SQLAlchemy's ``Result`` methods the project uses."""

    __slots__ = ("_keys", "_rows", "rowcount")

    def __init__(self, keys: list[str], rows: list[Any], rowcount: int) -> None:
        self._keys = keys
        self._rows = rows
        self.rowcount = rowcount

    def all(self) -> list[Any]:
        return list(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise exc.MultipleResultsFound("Multiple rows were found when one or none was required")
        return self.first()

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalars(self) -> _Values:
        return _Values([r[0] for r in self._rows])

    def mappings(self) -> _Values:
        keys = self._keys
        return _Values([dict(zip(keys, r, strict=True)) for r in self._rows])

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


class _Values:
    __slots__ = ("_items",)

    def __init__(self, items: list[Any]) -> None:
        self._items = items

    def all(self) -> list[Any]:
        return self._items

    def first(self) -> Any:
        return self._items[0] if self._items else None

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)
