"""The few statements that differ between SQLite and PostgreSQL, and reading their results."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Result, text
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


async def plan_each_read(session: AsyncSession) -> None:
    """PostgreSQL, for the rest of the transaction: plan every statement for its own values,
    and without JIT compilation. A prepared statement (asyncpg keeps them) otherwise falls back
    after five runs to a generic plan that cannot see which dates or groups it reads (the
    overview's per-group reads went from 10 ms to 600 ms), and a statement made of thousands
    of cheap index seeks is priced high enough to be compiled, which takes longer than running
    it. Nothing to do on SQLite."""
    if dialect_name(session) == "postgresql":
        local = text(
            "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
            "set_config('jit', 'off', true)"
        )
        await session.execute(local)
