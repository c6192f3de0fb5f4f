"""Operator reports: who went quiet, who deserves a VIP look, which groups are filling up,
and which messages could not be delivered.

Rules:
- Inactive: a member still in the group who neither spoke nor checked in during the last
  ``days`` days, and who has been in the group at least that long (newcomers are not inactive).
- VIP candidates: score = check-in days + ``vip_invite_weight`` × valid invites (admin
  adjustments included); members still in the group, best first, ties by user id; staff are
  left off as on the check-in boards (``[checkin] exclude_staff``).
- Near capacity: ``[welcome] near_capacity`` members or more (``full`` from ``capacity`` on).
- Dead letters: outbox rows that ended ``dead`` (permanent error or retries exhausted), newest
  first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config
from handlers.referral import invite_leaderboard
from handlers.welcome import WelcomeConfig
from storage.models import Group, Member, OutboxMessage
from storage.models_checkin import Checkin, CheckinStats


@dataclass
class Inactive:
    user_id: str
    name: str
    last_seen: datetime | None
    idle_days: int


@dataclass
class Vip:
    user_id: str
    name: str
    checkins: int
    invites: int
    score: int


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


async def inactive_members(
    session: AsyncSession, gid: str, now: datetime, days: int, limit: int
) -> list[Inactive]:
    cutoff = now - timedelta(days=days)
    last_checkin = (
        select(func.max(Checkin.at))
        .where(Checkin.group_id == gid, Checkin.user_id == Member.user_id, ~Checkin.void)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Member, last_checkin)
        .where(
            Member.group_id == gid,
            Member.in_group,
            func.coalesce(Member.joined_at, Member.first_seen_at) <= cutoff,
        )
        .order_by(Member.user_id)
    )
    out: list[Inactive] = []
    for m, checked in rows.all():
        seen = [t for t in (m.last_active_at, checked) if t is not None]
        last = max(seen) if seen else None
        if last is not None and last > cutoff:
            continue
        since = last or m.joined_at or m.first_seen_at
        out.append(Inactive(m.user_id, m.name or m.user_id, last, (now - since).days))
    out.sort(key=lambda r: (-r.idle_days, r.user_id))
    return out[:limit]


async def vip_candidates(
    session: AsyncSession,
    gid: str,
    invite_weight: int,
    limit: int,
    staff: set[str] | frozenset[str],
) -> list[Vip]:
    """Members ranked by check-in days + ``invite_weight`` × valid invites, ``staff`` (who
    ``handlers.checkin.board_staff`` names) left off — required, so no caller forgets it."""
    invites = {u: n for u, _name, n in await invite_leaderboard(session, gid, 100_000)}
    checkins = dict(
        (
            await session.execute(
                select(CheckinStats.user_id, CheckinStats.total_days).where(
                    CheckinStats.group_id == gid, CheckinStats.total_days > 0
                )
            )
        ).all()
    )
    present = dict(
        (
            await session.execute(
                select(Member.user_id, Member.name).where(
                    Member.group_id == gid,
                    Member.in_group,
                    Member.user_id.in_(sorted(set(invites) | set(checkins))),
                )
            )
        ).all()
    )
    out = []
    for uid, name in present.items():
        if uid in staff:
            continue
        c, i = int(checkins.get(uid, 0)), int(invites.get(uid, 0))
        out.append(Vip(uid, name or uid, c, i, c + invite_weight * i))
    out.sort(key=lambda v: (-v.score, v.user_id))
    return [v for v in out if v.score > 0][:limit]


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
