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

from typing import TYPE_CHECKING, Any

from bot import Config, Context, Router, Scheduled, submit
from handlers.members.config import AutoTag, MembersConfig
from handlers.members.repo import Tags
from handlers.members.tags import TooMany

if TYPE_CHECKING:
    from bot import Bot

JOB = "members.auto_tags"
EVERY_S = 900
CHUNK = 50

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


async def apply_rules(ctx: Context, gid: str) -> tuple[int, int]:
    """Bring one group's auto tags up to date: (added, removed)."""
    rules = _rules(ctx.config, gid)
    if not rules:
        return 0, 0
    now = ctx.now()
    tags = ctx.repo(Tags)
    found = await tags.matching(ctx.config, gid, now, [r.condition for r in rules])
    cap = ctx.config.feature(MembersConfig, gid).max_tags_per_member
    added = removed = 0
    for tag in sorted({r.tag for r in rules}):
        mine = [r for r in rules if r.tag == tag]
        want: set[str] = set().union(*(found[r.condition] for r in mine))
        holders = await tags.holders(gid, tag)
        why = " 或 ".join(str(r.condition) for r in mine)
        common: dict[str, Any] = {"gid": gid, "tag": tag, "actor": "auto", "now": now}
        for uid in sorted(want - set(holders)):
            try:
                await tags.add(uid=uid, source="auto", cap=cap, rule=why, **common)
                added += 1
            except TooMany:
                continue
        if not all(r.untag for r in mine):
            continue
        for uid in sorted(u for u, src in holders.items() if src == "auto" and u not in want):
            if await tags.remove(uid=uid, source="auto", only_auto=True, rule=why, **common):
                removed += 1
    return added, removed


async def _groups(ctx: Context, after: str) -> list[str]:
    """The groups with rules after ``after`` (configured and met on the wire), by id."""
    seen = await ctx.repo(Tags).groups_after(after)
    ids = sorted({g.id for g in ctx.config.groups if g.id > after} | set(seen))
    return [g for g in ids if _rules(ctx.config, g)]


@router.job(JOB)
async def run_rules(ctx: Context, ev: Scheduled) -> None:
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
