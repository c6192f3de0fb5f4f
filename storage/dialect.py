"""The few statements that differ between SQLite and PostgreSQL, and reading their results."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Result
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert(session: AsyncSession, model: Any) -> Any:
    """The dialect's INSERT, which offers ``on_conflict_do_nothing/do_update`` on both."""
    mod = postgresql if dialect_name(session) == "postgresql" else sqlite
    return mod.insert(model)


def insert_ignore(session: AsyncSession, model: Any, conflict_cols: list[str]) -> Any:
    """``INSERT … ON CONFLICT (cols) DO NOTHING`` for either database."""
    return insert(session, model).on_conflict_do_nothing(index_elements=conflict_cols)


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched. (``execute`` is typed as returning a plain
    ``Result``; for these statements it is a ``CursorResult``, which counts.)"""
    if not isinstance(result, CursorResult):
        raise TypeError(f"no row count on {type(result).__name__}")
    return result.rowcount
