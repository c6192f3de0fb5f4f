"""Posting a programme occurrence, exactly once, and telling admins about skipped ones.

Rules:
- The ledger row (slot, group, time) is claimed first; only the claimant posts, and the post's
  outbox key is the occurrence id, so nothing can post an occurrence twice.
- Content is a template that may pull live numbers: ``{checkins_today}``, ``{top_checkin}``,
  ``{top_points}``, ``{top_invites}``, ``{date}``, ``{weekday}``, ``{theme}``, ``{group}``;
  a lottery slot adds ``{winners}``, ``{seed}`` (first 16 hex digits) and ``{candidates}``.
  A ``pool`` rotates by occurrence: the Nth post of a slot in a group uses item N mod len.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot import Context, Router, Scheduled, templates
from handlers.programme.config import ProgrammeConfig
from schedules.model import Slot
from storage.dialect import insert_ignore
from storage.models_programme import ProgrammeOccurrence

router = Router("programme-posting")
CN_WEEKDAY = "一二三四五六日"
T_SKIPPED = templates.register(
    "programme.skipped",
    "⚠️ 节目「{theme}」（{slot}，{time}）错过了发送时间，已跳过未发。",
    "theme",
    "slot",
    "time",
    "group",
    "bot",
)


def find_slot(cfg: ProgrammeConfig, slot_id: str) -> Slot | None:
    for s in cfg.slots:
        if s.id == slot_id:
            return s
    for c in cfg.campaigns:
        for s in c.slots:
            if s.id == slot_id:
                return s
    return None


async def custom_slot(ctx: Context, slot_id: str) -> Slot | None:
    from schedules.engine import load_overrides

    ov = await load_overrides(ctx.session)
    return next((s for s in ov.custom.get(ctx.group_id or "", []) if s.id == slot_id), None)


async def claim(ctx: Context, slot: Slot, at: datetime, status: str, late: bool) -> bool:
    table = ProgrammeOccurrence.__table__
    stmt = insert_ignore(ctx.session, table, ["slot_id", "group_id", "at"]).returning(table.c.id)
    row = dict(
        slot_id=slot.id,
        group_id=ctx.group_id,
        at=at,
        status=status,
        theme=slot.theme,
        late=late,
        created_at=ctx.now(),
    )
    return (await ctx.session.execute(stmt, [row])).scalar() is not None


async def live_values(ctx: Context, slot: Slot) -> dict[str, Any]:
    from handlers.checkin import checkins_on, leaderboard
    from handlers.referral import invite_leaderboard

    assert ctx.group_id is not None
    reset = ctx.feature("checkin").reset_hour
    today = ctx.local_day(reset)

    def top(rows: list[tuple[str, str, int]], unit: str) -> str:
        return "\n".join(f"{i}. {n} {v}{unit}" for i, (_u, n, v) in enumerate(rows, 1)) or "暂无"

    local = ctx.local_now()
    return {
        "checkins_today": len(await checkins_on(ctx.session, ctx.group_id, today)),
        "top_checkin": top(await leaderboard(ctx.session, ctx.group_id, "today", 5, today), "分"),
        "top_points": top(await leaderboard(ctx.session, ctx.group_id, "points", 5, today), "分"),
        "top_invites": top(await invite_leaderboard(ctx.session, ctx.group_id, 5), "人"),
        "date": local.strftime("%m月%d日"),
        "weekday": "周" + CN_WEEKDAY[local.weekday()],
        "theme": slot.theme,
        "group": ctx.group.name if ctx.group else ctx.group_id,
    }


async def render_slot(ctx: Context, slot: Slot, extra: dict[str, Any] | None = None) -> str:
    text = slot.content
    if slot.pool:
        n = await ctx.session.scalar(
            select(func.count())
            .select_from(ProgrammeOccurrence)
            .where(
                ProgrammeOccurrence.slot_id == slot.id,
                ProgrammeOccurrence.group_id == ctx.group_id,
                ProgrammeOccurrence.status == "sent",
            )
        )
        text = slot.pool[max(0, int(n or 1) - 1) % len(slot.pool)]
    templates.parse(text)  # an unsafe text fails here, before any live number is read
    values = {**await live_values(ctx, slot), **(extra or {})}
    return templates.fill(text, values)


@router.on(Scheduled)
async def on_scheduled(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, Scheduled)
    if ev.job not in ("programme.post", "programme.skip") or ctx.group_id is None:
        return
    cfg: ProgrammeConfig = ctx.feature("programme")
    slot = find_slot(cfg, str(ev.data.get("slot"))) or await custom_slot(
        ctx, str(ev.data.get("slot"))
    )
    if slot is None:
        return  # the slot was removed from config since
    at = datetime.fromisoformat(str(ev.data["at"]))
    if ev.job == "programme.skip":
        if await claim(ctx, slot, at, "skipped", False):
            local = at.astimezone(ctx.tz).strftime("%m-%d %H:%M")
            await ctx.notify_admins(
                ctx.render(T_SKIPPED, theme=slot.theme, slot=slot.id, time=local)
            )
        return
    if not await claim(ctx, slot, at, "sent", bool(ev.data.get("late"))):
        return
    key = f"prog:{slot.id}:{ctx.group_id}:{at.isoformat()}"
    extra = await run_lottery(ctx, slot, key) if slot.action == "lottery" else {}
    text = await render_slot(ctx, slot, extra)
    await ctx.send(ctx.group_id, text, markdown=slot.markdown, idem_key=key)


async def run_lottery(ctx: Context, slot: Slot, occurrence: str) -> dict[str, Any]:
    """Draw among today's check-ins, store the draw (once per occurrence), name the winners."""
    from handlers.checkin import checkins_on
    from schedules.lottery import draw, seed_for
    from storage.models_programme import LotteryDraw

    assert ctx.group_id is not None
    today = ctx.local_day(ctx.feature("checkin").reset_hour)
    candidates = sorted(set(await checkins_on(ctx.session, ctx.group_id, today)))
    seed = seed_for(occurrence, candidates)
    winners = draw(seed, candidates, slot.winners)
    table = LotteryDraw.__table__
    row = dict(
        occurrence=occurrence,
        group_id=ctx.group_id,
        seed=seed,
        candidates=candidates,
        winners=winners,
        drawn_at=ctx.now(),
    )
    await ctx.session.execute(insert_ignore(ctx.session, table, ["occurrence"]), [row])
    await ctx.audit("programme.lottery", slot.id, seed=seed, winners=winners)
    names = [await ctx.member_name(w) for w in winners]
    return {
        "winners": "、".join(names) or "（今天还没有人签到）",
        "seed": seed[:16],
        "candidates": len(candidates),
    }
