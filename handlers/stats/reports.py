"""Operator reports: which groups are filling up and which messages could not be delivered
(who went quiet and who deserves a VIP look come from ``handlers.members``).

Rules:
- Near capacity: ``[welcome] near_capacity`` members or more (``full`` from ``capacity`` on).
- Dead letters: outbox rows that ended ``dead`` (permanent error or retries exhausted), newest
  first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config
from handlers.welcome import WelcomeConfig
from storage.models import Group, Member, OutboxMessage


@dataclass
class Capacity:
    group_id: str
    name: str
    members: int
    near_capacity: int
    capacity: int
    status: str  # near | full


async def known_group_ids(session: AsyncSession, config: Config) -> list[str]:
    """Configured groups first, then groups only met on the wire."""
    ids = [g.id for g in config.groups]
    seen = (await session.scalars(select(Group.id).order_by(Group.id))).all()
    return ids + [g for g in seen if g not in ids]


def _unconfigured(config: Config) -> Any:
    return select(Group.id).where(Group.id.not_in([g.id for g in config.groups]))


async def known_group_count(session: AsyncSession, config: Config) -> int:
    """How many groups ``known_group_ids`` lists (counted, not read)."""
    others = select(func.count()).select_from(_unconfigured(config).subquery())
    return len(config.groups) + int(await session.scalar(others) or 0)


async def known_group_ids_page(
    session: AsyncSession, config: Config, offset: int, limit: int
) -> list[str]:
    """``known_group_ids(...)[offset : offset + limit]``, reading only those ids (the groups
    met on the wire come through the primary key's order)."""
    ids = [g.id for g in config.groups][offset : offset + limit]
    if len(ids) < limit:
        skip = max(0, offset - len(config.groups))
        q = _unconfigured(config).order_by(Group.id).offset(skip).limit(limit - len(ids))
        ids += list(await session.scalars(q))
    return ids


async def group_exists(session: AsyncSession, config: Config, gid: str) -> bool:
    return config.group(gid) is not None or await session.get(Group, gid) is not None


async def near_capacity(session: AsyncSession, config: Config) -> list[Capacity]:
    counts = dict(
        (
            await session.execute(
                select(Member.group_id, func.count())
                .where(Member.in_group)
                .group_by(Member.group_id)
            )
        ).all()
    )
    out = []
    for gid in await known_group_ids(session, config):
        cfg = config.feature(WelcomeConfig, gid)
        n = int(counts.get(gid, 0))
        if n >= cfg.near_capacity or n >= cfg.capacity:
            g = config.group(gid)
            status = "full" if n >= cfg.capacity else "near"
            out.append(
                Capacity(gid, g.name if g else gid, n, cfg.near_capacity, cfg.capacity, status)
            )
    return out


async def dead_letters(
    session: AsyncSession, gid: str | None = None, limit: int = 50
) -> list[OutboxMessage]:
    q = select(OutboxMessage).where(OutboxMessage.status == "dead")
    if gid is not None:
        q = q.where(OutboxMessage.group_id == gid)
    q = q.order_by(OutboxMessage.id.desc()).limit(limit)
    return list((await session.scalars(q)).all())
