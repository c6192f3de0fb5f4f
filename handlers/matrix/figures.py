"""The group matrix's figures: every group's counts over a window of days, read set-based.

Rules (a window is ``first``..``last``, calendar days in each group's timezone; the matrix's
window ends today, the weekly summary's is a past Monday..Sunday):
- ``members``: members at the end of the window — today's count (``members.in_group``) minus
  the joins and plus the leaves counted after the window, never below zero.
- ``joins``, ``leaves``: the ``stats_daily`` counters of the window; ``net_growth`` = joins −
  leaves.
- ``active``: distinct members who spoke or checked in (not a make-up) in the window.
- ``checked_in``: distinct members with a check-in (not voided, make-ups included).
- ``posts``: programme posts sent in the window; ``reached``: distinct members who spoke
  within ``[stats] engagement_minutes`` after at least one of them (``stats_post_engagement``).
- ``valid_invites``: invites that became valid in the window; ``dead_letters``: outbox
  messages to the group queued in the window that ended dead.
- The rates are worked out from these counts by ``handlers.matrix.rates``.
Cost: one statement per figure and timezone in use, each grouped by group in the database,
whatever the number of groups (a short list of groups is read through its ids instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config
from handlers.stats import utc_bounds
from storage.models import Member, OutboxMessage
from storage.models_checkin import Checkin
from storage.models_programme import ProgrammeOccurrence
from storage.models_referral import Invite
from storage.models_stats import StatsActivity, StatsDaily, StatsPostEngagement

BY_IDS = 500  # up to this many groups are read through their ids, more by a scan of the range


@dataclass
class Counts:
    """One group's counts over a window (module rules)."""

    members: int = 0
    joins: int = 0
    leaves: int = 0
    active: int = 0
    checked_in: int = 0
    posts: int = 0
    reached: int = 0
    valid_invites: int = 0
    dead_letters: int = 0

    def add(self, other: Counts) -> None:
        for f in COUNT_FIELDS:
            setattr(self, f, getattr(self, f) + getattr(other, f))


COUNT_FIELDS = [f.name for f in fields(Counts)]


@dataclass(frozen=True)
class Window:
    """``first``..``last`` (local days) for the groups of one timezone."""

    tz: ZoneInfo
    first: date
    last: date
    gids: tuple[str, ...]

    @property
    def utc(self) -> tuple[datetime, datetime]:
        return utc_bounds(self.tz, self.first, self.last)


def windows(config: Config, gids: Sequence[str], first_of: Any, last_of: Any) -> list[Window]:
    """The groups split by timezone, each zone with its own window (``first_of(today)`` /
    ``last_of(today)`` turn the zone's today into the window's days)."""
    zones: dict[str, list[str]] = {}
    for gid in gids:
        zones.setdefault(str(config.timezone(gid)), []).append(gid)
    return [
        Window(ZoneInfo(z), first_of(ZoneInfo(z)), last_of(ZoneInfo(z)), tuple(ids))
        for z, ids in zones.items()
    ]


def _limit(col: Any, w: Window, everyone: bool) -> list[Any]:
    """No condition when the zone holds every group read and they are many; else the ids."""
    return [] if everyone and len(w.gids) > BY_IDS else [col.in_(w.gids)]


async def _grouped(session: AsyncSession, stmt: Any) -> dict[str, list[Any]]:
    return {row[0]: list(row[1:]) for row in (await session.execute(stmt)).all()}


async def _zone(
    session: AsyncSession, w: Window, everyone: bool, today: date, out: dict[str, Counts]
) -> None:
    sd, act, ck, occ = StatsDaily, StatsActivity, Checkin, ProgrammeOccurrence
    lo, hi = w.utc
    days = (sd.day >= w.first, sd.day <= w.last)
    counters = await _grouped(
        session,
        select(sd.group_id, func.sum(sd.joins), func.sum(sd.leaves))
        .where(*days, *_limit(sd.group_id, w, everyone))
        .group_by(sd.group_id),
    )
    after: dict[str, list[Any]] = {}
    if w.last < today:  # a past window: what changed since
        after = await _grouped(
            session,
            select(sd.group_id, func.sum(sd.joins - sd.leaves))
            .where(sd.day > w.last, *_limit(sd.group_id, w, everyone))
            .group_by(sd.group_id),
        )
    now = await _grouped(
        session,
        select(Member.group_id, func.count())
        .where(Member.in_group, *_limit(Member.group_id, w, everyone))
        .group_by(Member.group_id),
    )
    spoke = select(act.group_id, act.user_id).where(
        act.day >= w.first, act.day <= w.last, *_limit(act.group_id, w, everyone)
    )
    live = (ck.day >= w.first, ck.day <= w.last, ~ck.void)
    checked = select(ck.group_id, ck.user_id).where(
        *live, ~ck.makeup, *_limit(ck.group_id, w, everyone)
    )
    both = union(spoke, checked).subquery()
    active = await _grouped(
        session, select(both.c.group_id, func.count()).group_by(both.c.group_id)
    )
    checkers = await _grouped(
        session,
        select(ck.group_id, func.count(ck.user_id.distinct()))
        .where(*live, *_limit(ck.group_id, w, everyone))
        .group_by(ck.group_id),
    )
    sent = (occ.status == "sent", occ.at >= lo, occ.at < hi)
    posts = await _grouped(
        session,
        select(occ.group_id, func.count())
        .where(*sent, *_limit(occ.group_id, w, everyone))
        .group_by(occ.group_id),
    )
    eng = StatsPostEngagement
    reached = await _grouped(
        session,
        select(eng.group_id, func.count(eng.user_id.distinct()))
        .join(occ, and_(occ.id == eng.occurrence_id, *sent))
        .where(*_limit(eng.group_id, w, everyone))
        .group_by(eng.group_id),
    )
    inv = Invite
    invites = await _grouped(
        session,
        select(inv.group_id, func.count())
        .where(inv.status == "valid", inv.qualified_at >= lo, inv.qualified_at < hi)
        .where(*_limit(inv.group_id, w, everyone))
        .group_by(inv.group_id),
    )
    ob = OutboxMessage
    dead = await _grouped(
        session,
        select(ob.group_id, func.count())
        .where(ob.status == "dead", ob.created_at >= lo, ob.created_at < hi)
        .where(*_limit(ob.group_id, w, everyone))
        .group_by(ob.group_id),
    )
    for gid in w.gids:
        c = out[gid] = Counts()
        c.joins, c.leaves = (int(v or 0) for v in counters.get(gid, (0, 0)))
        later = int((after.get(gid) or [0])[0] or 0)
        c.members = max(0, int((now.get(gid) or [0])[0]) - later)
        c.active = int((active.get(gid) or [0])[0])
        c.checked_in = int((checkers.get(gid) or [0])[0])
        c.posts = int((posts.get(gid) or [0])[0])
        c.reached = int((reached.get(gid) or [0])[0])
        c.valid_invites = int((invites.get(gid) or [0])[0])
        c.dead_letters = int((dead.get(gid) or [0])[0])


async def window_counts(
    session: AsyncSession, zones: Iterable[Window], everyone: bool, now: datetime
) -> dict[str, Counts]:
    """Each group's counts over its zone's window. ``everyone``: the groups are every group
    the bot knows (then a zone's statements need not name them)."""
    out: dict[str, Counts] = {}
    for w in zones:
        await _zone(session, w, everyone, now.astimezone(w.tz).date(), out)
    return out
