"""Auto-tag rules (``[[members.auto_tags]]``): a periodic job tags the members a condition
holds for and, with ``untag`` (the default), takes the tag off again when it stops holding.

Rules:
- The job (``members.auto_tags``, every ``EVERY_S`` seconds on the scheduler leader) only
  submits a ``Scheduled`` event; the handler does the work in the event's transaction, at most
  ``CHUNK`` groups per event, then hands the rest to a follow-up event keyed by the last group
  it did. Running it again changes nothing that is already right (the tag key decides).
- The conditions are computed set-based per group from the same lists the reports use
  (``vip_candidates``, ``inactive_members``); staff (``staff_ids``) are never tagged by a rule.
- A rule only takes off tags that a rule put on (``source = 'auto'``): a tag an admin set
  stays. Several rules for one tag are alternatives (a member matching any keeps it).
- Every change is audited (actor ``auto``, with the rule's condition).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, Context, Router, Scheduled, submit
from handlers.members.candidates import inactive_members, staff_ids, vip_scores
from handlers.members.config import AutoTag, Condition, MembersConfig
from handlers.members.tags import TooMany, add_tag, remove_tag
from storage.models import Group
from storage.models_members import MemberTag

if TYPE_CHECKING:
    from bot import Bot

JOB = "members.auto_tags"
EVERY_S = 900
CHUNK = 50
EVERYONE = 1_000_000

router = Router("members-auto")


def _rules(config: Config, gid: str) -> list[AutoTag]:
    cfg = config.feature(MembersConfig, gid)
    return list(cfg.auto_tags) if cfg.enabled else []


def _any_rules(config: Config) -> bool:
    return bool(_rules(config, "")) or any(_rules(config, g.id) for g in config.groups)


async def queue_auto_tags(bot: Bot) -> None:
    """The periodic job: one ``members.auto_tags`` event when any group has a rule."""
    if _any_rules(bot.config):
        await submit(bot, JOB)


def invite_weight(config: Config, gid: str) -> int:
    """``[stats] vip_invite_weight`` (read by its table name: stats reads this feature, so
    this feature does not import stats)."""
    try:
        return int(config.feature("stats", gid).vip_invite_weight)
    except (KeyError, AttributeError):
        return 3


async def matching(
    session: AsyncSession, config: Config, gid: str, now: datetime, conds: list[Condition]
) -> dict[Condition, set[str]]:
    """Who each condition holds for in the group (staff left off)."""
    staff = await staff_ids(session, config, gid)
    out: dict[Condition, set[str]] = {}
    scores = None
    for c in conds:
        if c.metric == "inactive_days":
            idle = await inactive_members(session, gid, now, c.at_least, EVERYONE)
            out[c] = {r.user_id for r in idle} - staff
            continue
        if scores is None:
            scores = await vip_scores(session, gid, invite_weight(config, gid), staff)
        field = {"vip_score": "score", "checkin_days": "checkins", "invites": "invites"}
        out[c] = {v.user_id for v in scores if getattr(v, field[c.metric]) >= c.at_least}
    return out


async def apply_rules(ctx: Context, gid: str) -> tuple[int, int]:
    """Bring one group's auto tags up to date: (added, removed)."""
    rules = _rules(ctx.config, gid)
    if not rules:
        return 0, 0
    now = ctx.now()
    found = await matching(ctx.session, ctx.config, gid, now, [r.condition for r in rules])
    cap = ctx.config.feature(MembersConfig, gid).max_tags_per_member
    added = removed = 0
    for tag in sorted({r.tag for r in rules}):
        mine = [r for r in rules if r.tag == tag]
        want: set[str] = set().union(*(found[r.condition] for r in mine))
        holders = dict(
            (
                await ctx.session.execute(
                    select(MemberTag.user_id, MemberTag.source).where(
                        MemberTag.group_id == gid, MemberTag.tag == tag
                    )
                )
            ).all()
        )
        why = " 或 ".join(str(r.condition) for r in mine)
        common: dict[str, Any] = {"gid": gid, "tag": tag, "actor": "auto", "now": now}
        for uid in sorted(want - set(holders)):
            try:
                await add_tag(ctx.session, uid=uid, source="auto", cap=cap, rule=why, **common)
                added += 1
            except TooMany:
                continue
        if not all(r.untag for r in mine):
            continue
        for uid in sorted(u for u, src in holders.items() if src == "auto" and u not in want):
            if await remove_tag(
                ctx.session, uid=uid, source="auto", only_auto=True, rule=why, **common
            ):
                removed += 1
    return added, removed


async def _groups(ctx: Context, after: str) -> list[str]:
    """The groups with rules after ``after`` (configured and met on the wire), by id."""
    seen = await ctx.session.scalars(select(Group.id).where(Group.id > after).order_by(Group.id))
    ids = sorted({g.id for g in ctx.config.groups if g.id > after} | set(seen))
    return [g for g in ids if _rules(ctx.config, g)]


@router.on(Scheduled)
async def run_rules(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, Scheduled)
    if ev.job != JOB:
        return
    after = str(ev.data.get("after", ""))
    todo = await _groups(ctx, after)
    for gid in todo[:CHUNK]:
        await apply_rules(ctx, gid)
    if len(todo) > CHUNK:
        last = todo[CHUNK - 1]
        await ctx.emit(
            Scheduled(
                dedup_key=f"{ev.dedup_key}:after:{last}"[:200],
                platform="internal",
                group_id=None,
                occurred_at=ctx.now(),
                job=JOB,
                data={"after": last},
            )
        )
