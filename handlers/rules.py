"""Group rules (群规): checks on every group message, warnings that expire, the moderation log.

Rules:
- Owners, admins, global admins, the bot and the allow-list are never checked.
- Banned words, ads and flood each have an action ladder (delete, warn, kick) and always a
  report to admins; in shadow mode a rule only logs and reports what it would have done.
- Warnings count until they expire (``warning_days``) or are revoked; reaching ``warn_limit``
  removes the member (where the platform can).
- Deleting and removing need a platform that can (OneBot, console); on WeCom robot groups the
  bot warns and reports only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import templates
from bot.commands import Role
from bot.dispatch.context import Context
from bot.dispatch.router import STOP, Router, group_only
from bot.events import MessageReceived
from handlers.moderation.detect import FloodTracker, find_ads
from handlers.moderation.matcher import BannedWords
from handlers.rules_config import Check, RulesConfig
from storage.models_moderation import AllowListEntry, ModerationLog, Warning_

router = Router("rules")
V = ("name", "group", "bot")
T_WARN = templates.register(
    "rules.warned",
    "⚠️ {name} 请遵守群规（{reason}），警告 {count}/{limit}",
    *V,
    "reason",
    "count",
    "limit",
)
T_KICKED = templates.register("rules.kicked", "{name} 多次违反群规，已被移出本群", *V)
T_REPORT = templates.register(
    "rules.report",
    "🛡️ 群规提醒 [{group}] {name}：{reason}，处理：{actions}\n原文：{excerpt}",
    *V,
    "reason",
    "actions",
    "excerpt",
)
T_SHADOW = templates.register(
    "rules.shadow",
    "🕶️ [试运行] [{group}] {name}：{reason}，将会：{actions}\n原文：{excerpt}",
    *V,
    "reason",
    "actions",
    "excerpt",
)
CAN_ENFORCE = {"onebot", "console"}
_cache: dict[tuple[str, ...], BannedWords] = {}


async def warning_count(session: AsyncSession, group_id: str, user_id: str, now: datetime) -> int:
    """Warnings in force (not expired, not revoked) for the member."""
    n = await session.scalar(
        select(func.count())
        .select_from(Warning_)
        .where(
            Warning_.group_id == group_id,
            Warning_.user_id == user_id,
            Warning_.revoked.is_(False),
            Warning_.expires_at > now,
        )
    )
    return int(n or 0)


def words_for(cfg: RulesConfig) -> BannedWords:
    key = (str(cfg.wildcard_gap), *cfg.banned_words)
    if key not in _cache:
        _cache[key] = BannedWords.compile(list(cfg.banned_words), cfg.wildcard_gap)
    return _cache[key]


def flood_for(ctx: Context, cfg: RulesConfig) -> FloodTracker:
    """This bot's tracker for these settings (in memory, per running bot)."""
    trackers: dict[str, FloodTracker] = ctx.services.extras.setdefault("flood", {})
    key = f"{cfg.flood_messages}:{cfg.flood_seconds}:{cfg.flood_repeats}"
    if key not in trackers:
        trackers[key] = FloodTracker(cfg.flood_messages, cfg.flood_seconds, cfg.flood_repeats)
    return trackers[key]


async def exempt(ctx: Context, cfg: RulesConfig) -> bool:
    if ctx.role >= Role.ADMIN or ctx.is_self(ctx.user_id) or ctx.user_id in cfg.exempt:
        return True
    return await ctx.session.get(AllowListEntry, (ctx.group_id, ctx.user_id)) is not None


def platform(ctx: Context) -> str:
    return ctx.group.platform if ctx.group else ctx.event.platform


async def log(
    ctx: Context, target: str, rule: str, action: str, reason: str, excerpt: str, shadow: bool
) -> None:
    ctx.session.add(
        ModerationLog(
            group_id=ctx.group_id,
            user_id=target,
            rule=rule,
            action=action,
            reason=reason,
            excerpt=excerpt[:500],
            shadow=shadow,
            actor_id=ctx.user_id if rule == "manual" else "",
            created_at=ctx.now(),
        )
    )


async def warn(
    ctx: Context, cfg: RulesConfig, target: str, rule: str, reason: str, name: str
) -> list[str]:
    """Add a warning; at the limit remove the member. Returns what was done."""
    now = ctx.now()
    ctx.session.add(
        Warning_(
            group_id=ctx.group_id,
            user_id=target,
            rule=rule,
            reason=reason,
            actor_id=ctx.user_id if rule == "manual" else "",
            created_at=now,
            expires_at=now + timedelta(days=cfg.warning_days),
            revoked=False,
        )
    )
    await ctx.session.flush()
    assert ctx.group_id is not None
    count = await warning_count(ctx.session, ctx.group_id, target, now)
    await ctx.reply(ctx.render(T_WARN, name=name, reason=reason, count=count, limit=cfg.warn_limit))
    done = [f"warn {count}/{cfg.warn_limit}"]
    if count >= cfg.warn_limit and cfg.limit_action == "kick":
        if platform(ctx) in CAN_ENFORCE:
            await ctx.act("kick", user_id=target)
            await ctx.reply(ctx.render(T_KICKED, name=name))
            done.append("kick")
        else:
            done.append("kick not possible on this platform")
    return done


async def enforce(
    ctx: Context, cfg: RulesConfig, rule: str, check: Check, reason: str, excerpt: str
) -> None:
    msg = ctx.message
    assert msg is not None
    name = msg.user_name or ctx.user_id
    if check.shadow:
        await log(ctx, ctx.user_id, rule, "+".join(check.actions), reason, excerpt, True)
        await ctx.notify_admins(
            ctx.render(
                T_SHADOW,
                name=name,
                reason=reason,
                actions="、".join(check.actions),
                excerpt=excerpt,
            )
        )
        return
    done: list[str] = []
    for action in check.actions:
        if action == "delete":
            if platform(ctx) in CAN_ENFORCE and msg.message_id:
                await ctx.act("delete", message_id=msg.message_id)
                done.append("delete")
        elif action == "warn":
            done += await warn(ctx, cfg, ctx.user_id, rule, reason, name)
        elif action == "kick" and platform(ctx) in CAN_ENFORCE:
            await ctx.act("kick", user_id=ctx.user_id)
            done.append("kick")
    for action in done or ["report"]:
        await log(ctx, ctx.user_id, rule, action, reason, excerpt, False)
    await ctx.notify_admins(
        ctx.render(
            T_REPORT, name=name, reason=reason, actions="、".join(done) or "仅提醒", excerpt=excerpt
        )
    )


@router.on(MessageReceived, group_only)
async def check_message(ctx: Context) -> object:
    """Run the checks; a message that broke a rule goes no further."""
    msg = ctx.message
    assert msg is not None and ctx.group_id is not None
    cfg: RulesConfig = ctx.feature("rules")
    if await exempt(ctx, cfg):
        return None
    if cfg.banned.enabled and (m := words_for(cfg).match(msg.text)):
        await enforce(ctx, cfg, "banned", cfg.banned, f"违禁词「{m.pattern}」", m.excerpt)
        return STOP
    if cfg.ads.enabled:
        hits = [h for h in find_ads(msg.text, msg.attachments) if h.kind in cfg.ad_kinds]
        if hits:
            await enforce(ctx, cfg, "ads", cfg.ads, f"疑似广告（{hits[0].kind}）", msg.text[:80])
            return STOP
    if cfg.flood.enabled:
        # a repeated command (a retried /签到) is not spam; its rate still counts
        text = "" if ctx.command is not None and ctx.command.known else msg.text
        hit = flood_for(ctx, cfg).record(ctx.group_id, ctx.user_id, text, ctx.now().timestamp())
        if hit:
            reason = "刷屏" if hit.kind == "rate" else "重复发送相同内容"
            await enforce(ctx, cfg, "flood", cfg.flood, reason, msg.text[:80])
            return STOP
    return None


# chat commands live in rules_commands (imported for their registration)
from handlers import rules_commands  # noqa: E402

router.routes += rules_commands.router.routes
router.commands += rules_commands.router.commands
