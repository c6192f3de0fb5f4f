"""One group's settled burst of joins: a raid summary, or one greeting, and capacity hints.

Rules:
- The pending rows are marked done first; the group message carries the idempotency key
  ``welcome:{group}:{first pending id}``, so however often a flush runs, a burst is posted once.
- Raid: some ``raid_joins + 1`` of the burst's joins within ``raid_window_s``.
- A newcomer is greeted only if still in the group and not greeted within ``once_per_hours``
  (``welcome_greeted`` is read and moved in the same transaction).
- ``{count}`` is the number of members in the group now, as far as the bot knows.
- Admin notices about capacity are given once per group and local day (``welcome_notices``).
- A group the bot left or was removed from (``groups.active`` false) is not greeted: the burst
  is marked done and a ``welcome.skipped`` audit entry gives the reason.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot import Context, Members, group_active, templates
from handlers.rules import RulesConfig
from handlers.welcome.config import WelcomeConfig
from handlers.welcome.repo import Greetings, Pending

V = ("mention", "name", "inviter", "count", "rules", "group", "bot")
T_GREET = templates.register(
    "welcome.greet",
    "🎉 欢迎 {mention} 加入{group}！你是本群第 {count} 位成员。\n群规：{rules}\n"
    "发送 /帮助 看看能做什么～",
    *V,
)
T_GREET_INVITED = templates.register(
    "welcome.greet_invited",
    "🎉 欢迎 {mention} 加入{group}，感谢 {inviter} 的邀请！你是本群第 {count} 位成员。\n"
    "群规：{rules}\n发送 /帮助 看看能做什么～",
    *V,
)
T_RAID = templates.register(
    "welcome.raid",
    "🚨 {n} 人在 {seconds} 秒内加入本群，已暂停欢迎，请勿点击陌生链接，管理员会尽快处理。",
    "n",
    "seconds",
    "group",
    "bot",
)
T_RAID_ALERT = templates.register(
    "welcome.raid_alert",
    "🚨 [{group}] {seconds} 秒内加入 {n} 人，疑似被刷群，请核查：{names}",
    "n",
    "seconds",
    "names",
    "group",
    "bot",
)
T_FULL = templates.register(
    "welcome.full",
    "本群人数已满（{count}/{capacity}），新朋友请加入「{next}」哦",
    "count",
    "capacity",
    "next",
    "group",
    "bot",
)
T_NEAR = templates.register(
    "welcome.near_full",
    "⚠️ {group} 已有 {count} 人，上限 {capacity}{advice}",
    "count",
    "capacity",
    "advice",
    "group",
    "bot",
)


async def members_in(ctx: Context, group_id: str) -> int:
    """Members in ``group_id`` now (``members_in_group`` for a job serving many)."""
    return await ctx.repo(Members).count_in(group_id)


async def name_in(ctx: Context, group_id: str, user_id: str) -> str:
    return await ctx.repo(Members).name(group_id, user_id)


async def rules_line(ctx: Context, group_id: str) -> str:
    """The group's rules (set with /设置规则, else config), first line only."""
    default = ctx.config.feature(RulesConfig, group_id).text
    text = str(await ctx.setting("rules.text", default, group_id=group_id))
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first + ("…（发送 /规则 查看全部）" if "\n" in text.strip() else "")


async def next_group(ctx: Context, group_id: str) -> str:
    """The name of the first configured group sharing a tag with ``group_id`` that has room."""
    g = ctx.config.group(group_id)
    if g is None or not g.tags:
        return ""
    for other in ctx.config.groups:
        if other.id == g.id or not set(other.tags) & set(g.tags):
            continue
        if await members_in(ctx, other.id) < ctx.config.feature(WelcomeConfig, other.id).capacity:
            name: str = other.name or other.id
            return name
    return ""


def raid_size(rows: list[Pending], cfg: WelcomeConfig) -> int:
    """The most joins within any ``raid_window_s`` when that exceeds ``raid_joins``, else 0."""
    times = sorted(r.joined_at for r in rows)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] > timedelta(seconds=cfg.raid_window_s):
            lo += 1
        best = max(best, hi - lo + 1)
    return best if best > cfg.raid_joins else 0


async def notice_once(ctx: Context, group_id: str, key: str, text: str) -> None:
    """Tell the admins ``text`` unless this group already had notice ``key``."""
    if await ctx.repo(Greetings).first_notice(group_id, key, ctx.now()):
        await ctx.notify_admins(text, group_id)


async def fresh_newcomers(
    ctx: Context, group_id: str, rows: list[Pending], cfg: WelcomeConfig
) -> list[Pending]:
    """Those of ``rows`` to greet now (one per member), recorded as greeted."""
    now = ctx.now()
    greetings = ctx.repo(Greetings)
    out: dict[str, Pending] = {}
    for r in rows:
        if r.user_id in out:
            continue
        member = await ctx.repo(Members).get(group_id, r.user_id)
        if member is not None and not member.in_group:
            continue  # left before we greeted them
        seen = await greetings.greeted_at(group_id, r.user_id)
        if seen is not None and seen > now - timedelta(hours=cfg.once_per_hours):
            continue
        await greetings.greeted(group_id, r.user_id, now)
        out[r.user_id] = r
    return list(out.values())


async def greet_group(ctx: Context, group_id: str, rows: list[Pending], cfg: WelcomeConfig) -> None:
    """Handle one settled burst: raid summary and alert, or one greeting; capacity hints."""
    key = f"welcome:{group_id}:{rows[0].id}"
    plat = rows[-1].platform or None
    await ctx.repo(Greetings).mark_done([r.id for r in rows])
    if not await group_active(ctx, group_id):
        reason = "group inactive: the bot left or was removed"
        await ctx.audit("welcome.skipped", group_id, reason=reason, joins=len(rows))
        return
    if n := raid_size(rows, cfg):
        secs = int(cfg.raid_window_s)
        raid = ctx.render_for(group_id, T_RAID, n=n, seconds=secs)
        await ctx.send(group_id, raid, idem_key=key, platform=plat)
        names = "、".join(dict.fromkeys(r.name or r.user_id for r in rows[:30]))
        alert = ctx.render_for(group_id, T_RAID_ALERT, n=n, seconds=secs, names=names)
        await ctx.notify_admins(alert, group_id)
        return
    fresh = await fresh_newcomers(ctx, group_id, rows, cfg)
    if not fresh:
        return
    count = await members_in(ctx, group_id)
    names = "、".join(r.name or r.user_id for r in fresh)
    wecom = plat in ("wecom", "aibot")
    mention = " ".join(f"<@{r.user_id}>" for r in fresh) if wecom and cfg.mention else names
    inviters = list(dict.fromkeys(r.inviter_id for r in fresh if r.inviter_id))
    values: dict[str, Any] = {
        "mention": mention,
        "name": names,
        "count": count,
        "rules": await rules_line(ctx, group_id),
        "inviter": "、".join([await name_in(ctx, group_id, i) for i in inviters]),
    }
    text = ctx.render_for(group_id, T_GREET_INVITED if inviters else T_GREET, **values)
    mentions = tuple(r.user_id for r in fresh) if cfg.mention and not wecom else ()
    await ctx.send(group_id, text, markdown=wecom, mentions=mentions, idem_key=key, platform=plat)
    nxt = await next_group(ctx, group_id) if count >= cfg.capacity else ""
    if nxt:
        full = ctx.render_for(group_id, T_FULL, count=count, capacity=cfg.capacity, next=nxt)
        await ctx.send(group_id, full, idem_key=key + ":full", platform=plat)
    if count >= min(cfg.near_capacity, cfg.capacity):
        advice = (
            "，已满且没有同标签的群有空位，请开新群" if count >= cfg.capacity and not nxt else ""
        )
        near = ctx.render_for(group_id, T_NEAR, count=count, capacity=cfg.capacity, advice=advice)
        day = ctx.now().astimezone(ctx.config.timezone(group_id)).date().isoformat()
        await notice_once(ctx, group_id, f"{'full' if advice else 'near'}:{day}", near)
