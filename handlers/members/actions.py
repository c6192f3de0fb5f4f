"""The guided actions' dry run: who a clean-up or a promotion would take today, and the
digest that a confirmation must quote.

Rules:
- Clean-up candidates: members who went quiet for ``[members.cleanup] inactive_days``
  (``inactive_members``); promote candidates: members carrying ``from_tag``, else those with
  a VIP score of at least ``min_score`` — best first. Never staff (``staff_ids``), never the
  allow-list (``handlers.rules``), never a member in a run of the same kind within
  ``repeat_after_days``; a clean-up never takes members carrying a ``keep_tags`` tag; a
  promotion never invites members already in the target group.
- The list holds at most what is left of today's cap (per group, kind and local day).
- The digest covers the kind, group, target, local day and the members listed: a
  confirmation quoting it runs exactly that list (or a part of it), and only while the dry
  run would still show the same.
- Acting on members from the console (clean-up, promote, the profile's warnings, cards,
  invites and tags) needs the ``admin`` role (``MEMBER_ROLE``); operators see the lists.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config
from handlers.members.candidates import inactive_members, staff_ids, vip_scores
from handlers.members.config import MembersConfig
from handlers.members.repo import invite_weight
from handlers.members.tags import tagged
from handlers.rules import allow_listed
from storage.models import Group, Member
from storage.models_members import MemberActionDay, MemberActionItem

MEMBER_ROLE = "admin"  # the console role that may act on members
KINDS = ("cleanup", "promote")
CAN_KICK = frozenset({"onebot", "console"})  # platforms where the bot may remove members
CAN_DM = frozenset({"onebot", "console"})  # platforms where the bot may message privately
EVERYONE = 1_000_000


@dataclass
class Candidate:
    user_id: str
    name: str
    figure: int  # idle days (clean-up) or VIP score (promote)


@dataclass
class DryRun:
    kind: str
    group_id: str
    day: date
    platform: str
    cap: int
    used: int
    target_group: str = ""
    link: str = ""
    blocked: str = ""  # why nothing can run (not configured, switched off)
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def can_act(self) -> bool:
        """Whether the bot can do it itself here (else the owner gets a list)."""
        return self.platform in (CAN_KICK if self.kind == "cleanup" else CAN_DM)

    @property
    def digest(self) -> str:
        ids = [c.user_id for c in self.candidates]
        raw = [self.kind, self.group_id, self.target_group, self.day.isoformat(), ids]
        text = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


async def platform_of(session: AsyncSession, config: Config, gid: str) -> str:
    g = config.group(gid)
    if g is not None:
        return g.platform
    row = await session.get(Group, gid)
    return row.platform if row is not None else "console"


async def used_today(session: AsyncSession, gid: str, kind: str, day: date) -> int:
    row = await session.get(MemberActionDay, (gid, kind, day))
    return row.used if row is not None else 0


async def recent(session: AsyncSession, gid: str, kind: str, since: datetime) -> set[str]:
    """Members in a run of this kind since ``since``."""
    rows = await session.scalars(
        select(MemberActionItem.user_id).where(
            MemberActionItem.group_id == gid,
            MemberActionItem.kind == kind,
            MemberActionItem.created_at >= since,
        )
    )
    return set(rows)


async def in_group(session: AsyncSession, gid: str) -> dict[str, str]:
    rows = await session.execute(
        select(Member.user_id, Member.name).where(Member.group_id == gid, Member.in_group)
    )
    return {u: n or u for u, n in rows.all()}


async def dry_run(
    session: AsyncSession, config: Config, kind: str, gid: str, now: datetime
) -> DryRun:
    """Today's candidates of ``kind`` in the group (see the module's rules)."""
    cfg = config.feature(MembersConfig, gid)
    day = now.astimezone(config.timezone(gid)).date()
    act = cfg.cleanup if kind == "cleanup" else cfg.promote
    out = DryRun(kind, gid, day, await platform_of(session, config, gid), act.daily_cap, 0)
    out.used = await used_today(session, gid, kind, day)
    if not (cfg.enabled and act.enabled):
        out.blocked = "已关闭（[members] enabled 或本操作的 enabled）"
        return out
    left_out = await staff_ids(session, config, gid) | await allow_listed(session, gid)
    left_out |= await recent(session, gid, kind, now - timedelta(days=act.repeat_after_days))
    if kind == "cleanup":
        for t in cfg.cleanup.keep_tags:
            left_out |= await tagged(session, gid, t)
        idle = await inactive_members(session, gid, now, cfg.cleanup.inactive_days, EVERYONE)
        pool = [Candidate(r.user_id, r.name, r.idle_days) for r in idle]
    else:
        p = cfg.promote
        out.target_group, out.link = p.target_group, p.link
        if not p.target_group or p.target_group == gid:
            out.blocked = "未设置目标群（[members.promote] target_group）"
            return out
        left_out |= set(await in_group(session, p.target_group))
        scores = await vip_scores(session, gid, invite_weight(config, gid), set())
        if p.from_tag:
            names = await in_group(session, gid)
            by_score = {v.user_id: v.score for v in scores}
            holders = await tagged(session, gid, p.from_tag)
            pool = [Candidate(u, names[u], by_score.get(u, 0)) for u in holders if u in names]
            pool.sort(key=lambda c: (-c.figure, c.user_id))
        else:
            pool = [Candidate(v.user_id, v.name, v.score) for v in scores if v.score >= p.min_score]
    room = max(0, out.cap - out.used)
    out.candidates = [c for c in pool if c.user_id not in left_out][:room]
    return out
