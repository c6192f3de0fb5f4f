"""Posting a programme occurrence — the one path every post takes, exactly once.

Rules:
- Every due occurrence arrives as a ``Scheduled`` event (``programme.post`` or
  ``programme.skip``); this handler is the only code that claims the ledger row and queues
  the post.
- The ledger row (slot, group, time) is claimed first; only the claimant posts, and the post's
  outbox key is the occurrence key ``prog:{slot}:{group}:{time}``, so nothing can post an
  occurrence twice.
- Content is a template of named fields: ``{date}``, ``{weekday}``, ``{theme}``, ``{group}``
  and the live numbers ``{checkins_today}``, ``{top_checkin}``, ``{top_points}``,
  ``{top_invites}`` (read only when named); a lottery slot adds ``{winners}``, ``{seed}``
  (first 16 hex digits) and ``{candidates}``. A ``pool`` rotates by occurrence: the Nth post
  of a slot in a group uses item N mod len.
- Content that cannot be rendered (a slot saved before the content rules) fails alone: the
  occurrence is recorded ``failed`` with the reason and admins are told; every other
  occurrence posts as usual.
- A WeCom customer group without a robot (``handlers.groupmsg``) gets the occurrence through
  its own channel: a key slot (``key = true``) as 企业群发 within the caps, anything else as a
  staff reminder to the group owner; the ledger and the occurrence key are the same.
- A group the bot left or was removed from (``groups.active`` false) gets no post: the
  occurrence is recorded ``skipped`` with the reason ``INACTIVE`` (nobody is told — there is
  no one to tell there).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot import Context, Router, Scheduled, group_active, templates
from handlers.checkin import CheckinConfig, Checkins
from handlers.groupmsg import hand_over
from handlers.programme.config import ProgrammeConfig
from handlers.programme.repo import Ledger
from handlers.programme.slots import find_slot, occurrence_key
from handlers.referral import Referrals
from schedules.lottery import draw, seed_for
from schedules.model import Slot

log = logging.getLogger("groupbot.programme")
router = Router("programme-posting")
CN_WEEKDAY = "一二三四五六日"
INACTIVE = "group inactive: the bot left or was removed"
V = ("theme", "slot", "time", "group", "bot")
T_SKIPPED = templates.register(
    "programme.skipped", "⚠️ 节目「{theme}」（{slot}，{time}）错过了发送时间，已跳过未发。", *V
)
T_FAILED = templates.register(
    "programme.failed",
    "⚠️ 节目「{theme}」（{slot}，{time}）的内容无法使用，未发送：{reason}。请 /删节目 后重新添加。",
    "reason",
    *V,
)


async def claim(
    ctx: Context, slot: Slot, at: datetime, status: str, late: bool, reason: str = ""
) -> bool:
    """Insert the ledger row; True for the one caller that inserted it.

    In a dispatcher batch the row is written with the batch: should the occurrence be
    claimed already, the unique constraint fails the batch and its events run again one by
    one, where this claim answers exactly (``Ledger.claim``)."""
    row = dict(
        slot_id=slot.id,
        group_id=ctx.group_id,
        at=at,
        status=status,
        theme=slot.theme,
        late=late,
        reason=reason[:256],
        created_at=ctx.now(),
    )
    return await ctx.repo(Ledger).claim(row)


async def content_of(ctx: Context, slot: Slot) -> str:
    """The slot's content, or the pool item whose turn is next (N posts sent: item N)."""
    if not slot.pool:
        return slot.content
    assert ctx.group_id is not None
    n = await ctx.repo(Ledger).sent_count(slot.id, ctx.group_id)
    return slot.pool[int(n or 0) % len(slot.pool)]


async def values_for(ctx: Context, slot: Slot, names: set[str]) -> dict[str, Any]:
    """The values ``names`` refer to; live numbers are read only when named."""
    assert ctx.group_id is not None
    gid = ctx.group_id
    local = ctx.local_now()
    today = ctx.local_day(ctx.feature(CheckinConfig).reset_hour)

    def top(rows: list[tuple[str, str, int]], unit: str) -> str:
        return "\n".join(f"{i}. {n} {v}{unit}" for i, (_u, n, v) in enumerate(rows, 1)) or "暂无"

    async def board(kind: str) -> str:
        # the same board as /签到榜: staff left off when ``exclude_staff``
        rows = await ctx.repo(Checkins).ranked(ctx.config, gid, kind, 5, ctx.now())
        return top(rows, "分")

    async def invites() -> str:
        return top(await ctx.repo(Referrals).leaderboard(gid, 5), "人")

    async def checkins() -> int:
        return len(await ctx.repo(Checkins).on_day(gid, today))

    live: dict[str, Callable[[], Awaitable[Any]]] = {
        "checkins_today": checkins,
        "top_checkin": lambda: board("today"),
        "top_points": lambda: board("points"),
        "top_invites": invites,
    }
    out: dict[str, Any] = {
        "date": local.strftime("%m月%d日"),
        "weekday": "周" + CN_WEEKDAY[local.weekday()],
        "theme": slot.theme,
        "group": ctx.group.name if ctx.group and ctx.group.name else gid,
    }
    for name in sorted(names & live.keys()):
        out[name] = await live[name]()
    return out


async def render_slot(ctx: Context, slot: Slot, extra: dict[str, Any] | None = None) -> str:
    """The slot's text as it would be posted now (TemplateError if it cannot be)."""
    text = await content_of(ctx, slot)
    values = {**await values_for(ctx, slot, templates.fields(text)), **(extra or {})}
    return templates.fill(text, values)


async def custom_slot(ctx: Context, slot_id: str) -> Slot | None:
    ov = await ctx.repo(Ledger).overrides()
    return next((s for s in ov.custom.get(ctx.group_id or "", []) if s.id == slot_id), None)


async def slot_of(ctx: Context, slot_id: str) -> Slot | None:
    """This group's slot by id: from the config, or added from chat."""
    return find_slot(ctx.feature(ProgrammeConfig), slot_id) or await custom_slot(ctx, slot_id)


@router.on(Scheduled)
async def on_scheduled(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, Scheduled)
    if ev.job not in ("programme.post", "programme.skip") or ctx.group_id is None:
        return
    slot = await slot_of(ctx, str(ev.data.get("slot")))
    if slot is None:
        return  # the slot was removed since
    at = datetime.fromisoformat(str(ev.data["at"]))
    local = at.astimezone(ctx.tz).strftime("%m-%d %H:%M")
    said = {"theme": slot.theme or slot.id, "slot": slot.id, "time": local}
    if not await group_active(ctx):
        if await claim(ctx, slot, at, "skipped", False, INACTIVE):
            log.info("programme %s in %s at %s skipped: %s", slot.id, ctx.group_id, at, INACTIVE)
        return
    if ev.job == "programme.skip":
        if await claim(ctx, slot, at, "skipped", False):
            await ctx.notify_admins(ctx.render(T_SKIPPED, **said))
        return
    text = await content_of(ctx, slot)
    try:
        names = templates.fields(text)
    except templates.TemplateError as exc:
        if await claim(ctx, slot, at, "failed", False, str(exc)):
            log.warning("programme %s in %s at %s not posted: %s", slot.id, ctx.group_id, at, exc)
            await ctx.notify_admins(ctx.render(T_FAILED, reason=str(exc), **said))
        return
    if not await claim(ctx, slot, at, "sent", bool(ev.data.get("late"))):
        return
    await post_claimed(ctx, slot, at, text, names)


async def post_once(ctx: Context, slot: Slot, at: datetime) -> bool:
    """A one-off occurrence of ``slot`` in the event's group at ``at`` (another feature's
    themed post or lottery, e.g. activation's): claimed in the ledger like any occurrence
    and posted through the same path, exactly once; False when it was claimed before.
    Content that cannot be rendered raises ``templates.TemplateError`` (nothing stored)."""
    assert ctx.group_id is not None
    text = await content_of(ctx, slot)
    names = templates.fields(text)
    if not await claim(ctx, slot, at, "sent", False):
        return False
    await post_claimed(ctx, slot, at, text, names)
    return True


async def post_claimed(ctx: Context, slot: Slot, at: datetime, text: str, names: set[str]) -> None:
    """Post a claimed occurrence: its lottery, its values, and the group's channel."""
    assert ctx.group_id is not None
    key = occurrence_key(slot.id, ctx.group_id, at)
    extra = await run_lottery(ctx, slot, key) if slot.action == "lottery" else {}
    values = {**await values_for(ctx, slot, names), **extra}
    body = templates.fill(text, values)
    # a WeCom customer group without a robot: 企业群发 for a key slot, else a staff reminder
    source = f"prog:{slot.id}:{at.isoformat()}"
    attachments = [a.model_dump(exclude_none=True) for a in slot.attachments]
    if not await hand_over(
        ctx,
        key=key,
        source=source,
        text=body,
        at=at,
        official=slot.key,
        theme=slot.theme,
        attachments=attachments,
    ):
        await ctx.send(ctx.group_id, body, markdown=slot.markdown, idem_key=key)


async def run_lottery(ctx: Context, slot: Slot, occurrence: str) -> dict[str, Any]:
    """Draw among today's check-ins, store the draw (once per occurrence), name the winners."""
    assert ctx.group_id is not None
    today = ctx.local_day(ctx.feature(CheckinConfig).reset_hour)
    candidates = sorted(set(await ctx.repo(Checkins).on_day(ctx.group_id, today)))
    seed = seed_for(occurrence, candidates)
    winners = draw(seed, candidates, slot.winners)
    row = dict(
        occurrence=occurrence,
        group_id=ctx.group_id,
        seed=seed,
        candidates=candidates,
        winners=winners,
        drawn_at=ctx.now(),
    )
    await ctx.repo(Ledger).record_draw(row)
    await ctx.audit("programme.lottery", slot.id, seed=seed, winners=winners)
    names = [await ctx.member_name(w) for w in winners]
    return {
        "winners": "、".join(names) or "（今天还没有人签到）",
        "seed": seed[:16],
        "candidates": len(candidates),
    }
