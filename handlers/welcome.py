"""Welcoming newcomers (欢迎新人).

Rules:
- Joins within ``window_s`` of each other are greeted together in one message, once the
  window has closed (a flush job runs every few seconds; no sleeping in handlers).
- A member is greeted at most once per ``once_per_hours`` (leave-and-rejoin spam).
- More than ``raid_joins`` joins within ``raid_window_s`` is a raid: one summary, an alert to
  admins, no greetings.
- Near ``capacity`` admins are told; at capacity newcomers are pointed to the next group with
  the same tag that still has room. An optional goodbye greets leavers (off by default).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import Field
from sqlalchemy import func, select

from bot import templates
from bot.config import Section, register_section
from bot.dispatch.context import Context
from bot.dispatch.router import Router, group_only
from bot.events import MemberJoined, MemberLeft, Scheduled
from bot.jobs import every
from storage.dialect import insert
from storage.models import Member
from storage.models_moderation import Greeted, PendingGreeting

if TYPE_CHECKING:
    from bot.runtime import Bot

router = Router("welcome")
FLUSH_EVERY_S = 5
V = ("group", "bot")
T_GREET = templates.register(
    "welcome.greet",
    "🎉 欢迎 {mention} 加入{group}！你是本群第 {count} 位成员{inviter}。\n"
    "群规：{rules}\n发送 /帮助 看看能做什么～",
    "mention",
    "name",
    "inviter",
    "count",
    "rules",
    *V,
)
T_INVITER = templates.register("welcome.inviter", "，感谢 {inviter} 的邀请", "inviter", *V)
T_RAID = templates.register(
    "welcome.raid", "🚨 {n} 人在短时间内加入，已暂停欢迎，请管理员留意。", "n", *V
)
T_BYE = templates.register("welcome.goodbye", "👋 {name} 离开了{group}，祝一切顺利。", "name", *V)
T_FULL = templates.register(
    "welcome.full",
    "本群人数已满（{count}/{capacity}），新朋友可以加入「{next}」哦",
    "count",
    "capacity",
    "next",
    *V,
)
T_NEAR = templates.register(
    "welcome.near_full", "⚠️ {group} 已有 {count} 人，接近上限 {capacity}", "count", "capacity", *V
)


@register_section("welcome")
class WelcomeConfig(Section):
    enabled: bool = True
    window_s: float = Field(10, ge=0, le=600)
    once_per_hours: float = Field(24, ge=0)
    raid_joins: int = Field(10, ge=2)
    raid_window_s: float = Field(60, gt=0)
    goodbye: bool = False
    capacity: int = Field(200, ge=1)
    near_capacity: int = Field(190, ge=1)
    mention: bool = True


@router.on(MemberJoined, group_only)
async def on_join(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, MemberJoined)
    if not ctx.feature("welcome").enabled or ctx.is_self(ev.user_id):
        return
    ctx.session.add(
        PendingGreeting(
            group_id=ctx.group_id,
            user_id=ev.user_id,
            name=ev.user_name,
            inviter_id=ev.inviter_id,
            joined_at=ctx.now(),
            done=False,
            event_id=ctx.event_id,
        )
    )


@router.on(MemberLeft, group_only)
async def on_leave(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, MemberLeft)
    if ctx.feature("welcome").goodbye and not ctx.is_self(ev.user_id):
        await ctx.send(ctx.group_id, ctx.render(T_BYE, name=await ctx.member_name(ev.user_id)))


async def next_group(ctx: Context, group_id: str, capacity: int) -> str:
    g = ctx.config.group(group_id)
    if g is None:
        return ""
    for other in ctx.config.groups:
        if other.id == g.id or not set(other.tags) & set(g.tags):
            continue
        n = await ctx.session.scalar(
            select(func.count())
            .select_from(Member)
            .where(Member.group_id == other.id, Member.in_group.is_(True))
        )
        if int(n or 0) < capacity:
            return other.name or other.id
    return ""


async def greet_group(ctx: Context, group_id: str, rows: list[PendingGreeting]) -> None:
    cfg: WelcomeConfig = ctx.config.feature("welcome", group_id)
    now = ctx.now()
    key = f"welcome:{group_id}:{rows[0].id}"
    for r in rows:
        r.done = True
    recent = [
        r for r in rows if r.joined_at >= now - timedelta(seconds=cfg.raid_window_s + cfg.window_s)
    ]
    if len(recent) > cfg.raid_joins:
        await ctx.send(group_id, ctx.render_for(group_id, T_RAID, n=len(recent)), idem_key=key)
        await ctx.notify_admins(ctx.render_for(group_id, T_RAID, n=len(recent)), group_id)
        return
    fresh = []
    for r in rows:
        seen = await ctx.session.get(Greeted, (group_id, r.user_id))
        if seen is not None and seen.greeted_at > now - timedelta(hours=cfg.once_per_hours):
            continue
        stmt = insert(ctx.session, Greeted).values(
            group_id=group_id, user_id=r.user_id, greeted_at=now
        )
        await ctx.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["group_id", "user_id"], set_={"greeted_at": now}
            )
        )
        if r.user_id not in {f.user_id for f in fresh}:
            fresh.append(r)
    if not fresh:
        return
    count = int(
        await ctx.session.scalar(
            select(func.count())
            .select_from(Member)
            .where(Member.group_id == group_id, Member.in_group.is_(True))
        )
        or 0
    )
    g = ctx.config.group(group_id)
    names = "、".join(r.name or r.user_id for r in fresh)
    inviters = sorted({r.inviter_id for r in fresh if r.inviter_id})
    rules = await _rules_text(ctx, group_id)
    text = ctx.render_for(
        group_id,
        T_GREET,
        mention=names,
        name=names,
        count=count,
        rules=rules,
        group=g.name if g and g.name else group_id,
        inviter=ctx.render_for(group_id, T_INVITER, inviter="、".join(inviters))
        if inviters
        else "",
    )
    mentions = tuple(r.user_id for r in fresh) if cfg.mention else ()
    await ctx.send(group_id, text, mentions=mentions, idem_key=key)
    if count >= cfg.capacity:
        nxt = await next_group(ctx, group_id, cfg.capacity)
        if nxt:
            await ctx.send(
                group_id,
                ctx.render_for(group_id, T_FULL, count=count, capacity=cfg.capacity, next=nxt),
                idem_key=key + ":full",
            )
    if count >= cfg.near_capacity:
        near = ctx.render_for(group_id, T_NEAR, count=count, capacity=cfg.capacity)
        await ctx.notify_admins(near, group_id)


async def _rules_text(ctx: Context, group_id: str) -> str:
    from storage.models import GroupSetting

    row = await ctx.session.get(GroupSetting, (group_id, "rules.text"))
    text = row.value if row is not None else ctx.config.feature("rules", group_id).text
    return str(text).splitlines()[0] + ("…" if "\n" in str(text) else "")


@router.on(Scheduled)
async def flush(ctx: Context) -> None:
    """Greet every group whose burst window has closed."""
    ev = ctx.event
    assert isinstance(ev, Scheduled)
    if ev.job != "welcome.flush":
        return
    pending = (
        await ctx.session.scalars(
            select(PendingGreeting)
            .where(PendingGreeting.done.is_(False))
            .order_by(PendingGreeting.id)
        )
    ).all()
    by_group: dict[str, list[PendingGreeting]] = {}
    for p in pending:
        by_group.setdefault(p.group_id, []).append(p)
    for gid, rows in by_group.items():
        cfg: WelcomeConfig = ctx.config.feature("welcome", gid)
        if max(r.joined_at for r in rows) > ctx.now() - timedelta(seconds=cfg.window_s):
            continue  # the burst is still going
        await greet_group(ctx, gid, rows)


async def on_startup(bot: Bot) -> None:
    every(bot, "welcome.flush", FLUSH_EVERY_S)
