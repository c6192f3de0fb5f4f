"""Who went quiet, who deserves a VIP look, and who is staff — the member lists that reports,
tags and the guided actions start from.

Rules:
- Inactive: a member still in the group who neither spoke nor checked in during the last
  ``days`` days, and who has been in the group at least that long (newcomers are not inactive).
- VIP candidates: score = check-in days + ``vip_invite_weight`` × valid invites (admin
  adjustments included); members still in the group, best first, ties by user id; the
  ``staff`` the caller names are left off (a required argument, so no caller forgets it).
- Staff (``staff_ids``): the group's owner and admins as the platform last showed them, its
  configured admins, the global admins, ``[checkin] staff``, ``[rules] exempt`` and the bot's
  own account. They are never tagged automatically and never candidates of an action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config
from handlers.checkin import CheckinConfig
from handlers.referral import invite_leaderboard
from handlers.rules import RulesConfig
from storage.models import Member
from storage.models_checkin import Checkin, CheckinStats

STAFF_ROLES = ("owner", "admin")


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


async def staff_ids(session: AsyncSession, config: Config, gid: str) -> set[str]:
    """Everyone who runs the group (see the module's rules), in one query."""
    shown = await session.scalars(
        select(Member.user_id).where(Member.group_id == gid, Member.role.in_(STAFF_ROLES))
    )
    out = set(shown) | config.group_admins(gid) | set(config.bot.admins)
    out |= set(config.feature(CheckinConfig, gid).staff)
    out |= set(config.feature(RulesConfig, gid).exempt)
    if config.onebot.self_id:
        out.add(config.onebot.self_id)
    return out


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


async def vip_scores(
    session: AsyncSession, gid: str, invite_weight: int, staff: set[str] | frozenset[str]
) -> list[Vip]:
    """Every member still in the group with a score above 0, best first (staff left off)."""
    return await vip_candidates(session, gid, invite_weight, 1_000_000, staff)
