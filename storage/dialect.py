"""The few statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

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
