"""A group's effective tags: the one place tags are resolved.

Rule: a group's tags are its configured ``[[groups]].tags``, in their configured order.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config


async def group_tags(
    session: AsyncSession, config: Config, gids: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """The effective tags of each of ``gids`` (module rule); a group without tags maps to
    ``()``."""
    out: dict[str, tuple[str, ...]] = {}
    for gid in gids:
        g = config.group(gid)
        out[gid] = tuple(g.tags) if g is not None else ()
    return out
