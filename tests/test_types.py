"""storage/types.py: ``UTCDateTime``'s one-step SQLite conversions equal SQLAlchemy's chain
(the decorator's ``process_*`` around ``DATETIME``'s own), value for value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect
from sqlalchemy.types import TypeDecorator

from storage.types import UTCDateTime, _sqlite_bind

SQLITE = aiosqlite_dialect()
TYPE = UTCDateTime()
IMPL = TYPE.dialect_impl(SQLITE)  # the decorator around SQLite's own DATETIME, as used
CST = timezone(timedelta(hours=8))
VALUES = [
    datetime(2026, 12, 7, 2, 17, 56, 691921, tzinfo=UTC),
    datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds: still six digits
    datetime(2026, 1, 1, 5, 6, 7, 8, tzinfo=CST),  # another zone: stored in UTC
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    None,
]


def reference(kind: str) -> object:
    """The processor SQLAlchemy builds for the decorator (what storage/types.py replaces)."""
    if kind == "bind":
        return TypeDecorator.bind_processor(IMPL, SQLITE)
    return TypeDecorator.result_processor(IMPL, SQLITE, None)


@pytest.mark.parametrize("value", VALUES)
def test_sqlite_bind_and_result_equal_sqlalchemys(value: datetime | None) -> None:
    ours, theirs = TYPE._cached_bind_processor(SQLITE), reference("bind")
    assert ours is _sqlite_bind and callable(theirs)  # (the one-step conversion is in use)
    stored = ours(value)
    assert stored == theirs(value)
    back, their_back = TYPE._cached_result_processor(SQLITE, None), reference("result")
    assert back is not None and callable(their_back)
    assert back(stored) == their_back(stored)
    if value is not None:
        assert back(stored) == value and back(stored).tzinfo is UTC


@pytest.mark.parametrize("text", ["2026-12-07 02:17:56", "2026-12-07", "2026-12-07 02:17:56.5"])
def test_other_stored_forms_read_as_sqlalchemy_reads_them(text: str) -> None:
    back, their_back = TYPE._cached_result_processor(SQLITE, None), reference("result")
    assert back is not None and callable(their_back)
    assert back(text) == their_back(text)


def test_a_naive_datetime_is_refused() -> None:
    bind = TYPE._cached_bind_processor(SQLITE)
    assert bind is not None
    with pytest.raises(ValueError, match="naive"):
        bind(datetime(2026, 1, 1))


def test_postgresql_keeps_sqlalchemys_chain() -> None:
    pg = postgresql.asyncpg.dialect()
    bind = TYPE._cached_bind_processor(pg)
    value = datetime(2026, 1, 1, 5, tzinfo=CST)
    converted = bind(value) if bind is not None else TYPE.process_bind_param(value, pg)
    assert converted == value and converted.tzinfo is UTC
