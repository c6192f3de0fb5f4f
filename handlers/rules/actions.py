"""What the group rules do when one fires: delete, warn, kick, report — and the moderation log.

Rules:
- Every action, automatic or manual, is a moderation-log row with rule, reason and message
  excerpt. Rows, warnings and removals are keyed (see ``storage.models_moderation``), so a re-run
  of an event cannot warn, log or remove twice; a member is removed at most once per stay.
- Warnings count while in force (not expired, not revoked); reaching ``warn_limit`` removes the
  member when ``limit_action = "kick"``. Warnings outlive a removal: someone who comes back
  with warnings still in force is removed at their next offence, until those expire.
- Staff are never removed: the group owner, admins (platform or configured), global admins and
  ``exempt`` ids, whatever warnings they carry (see ``protected``).
- Deleting and removing need a platform that can (OneBot, console). On WeCom robot groups the
  bot warns and reports only; the log says ``delete_unsupported``/``kick_unsupported`` and the
  group and the admins are told that someone has to act by hand.
- Nothing more happens to a member once this stay ended in a removal: their messages still in
  flight are neither warned nor reported. Admin alerts are capped (``handlers.rules.throttle``).
- Shadow mode: the log rows are marked ``shadow`` and the admins hear what would have happened;
  nothing is deleted, nobody is warned or removed, the group hears nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import Context, Members, Role, role_of, templates
from handlers.rules.config import Check, RulesConfig
from handlers.rules.repo import Moderation
from handlers.rules.throttle import alert_admins

CAN_ENFORCE = frozenset({"onebot", "console"})
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
T_NO_KICK = templates.register(
    "rules.cannot_kick",
    "{name} 已达警告上限；本群所在平台不支持机器人移出成员，已通知管理员处理",
    *V,
)
T_REPORT = templates.register(
    "rules.report",
    "🛡️ 群规处理 [{group}] {name}（{user}）：{reason}\n处理：{actions}\n原文：{excerpt}{undo}",
    *V,
    "user",
    "reason",
    "actions",
    "excerpt",
    "undo",
)
T_SHADOW = templates.register(
    "rules.shadow",
    "🕶️ [试运行] [{group}] {name}（{user}）：{reason}\n将会：{actions}（未执行）\n原文：{excerpt}",
    *V,
    "user",
    "reason",
    "actions",
    "excerpt",
)


@dataclass
class Outcome:
    """What was done, as admins read it, and the log ids an admin may undo."""

    done: list[str] = field(default_factory=list)
    undo: list[int] = field(default_factory=list)


def platform(ctx: Context) -> str:
    return ctx.group.platform if ctx.group else ctx.event.platform


def can_enforce(ctx: Context) -> bool:
    """Whether the bot can delete messages and remove members in this group."""
    return platform(ctx) in CAN_ENFORCE


async def warning_count(session: AsyncSession, group_id: str, user_id: str, now: datetime) -> int:
    """Warnings in force (not expired, not revoked) for the member (readers outside a handler)."""
    return await Moderation(session).warning_count(group_id, user_id, now)


async def record(
    ctx: Context,
    target: str,
    rule: str,
    action: str,
    *,
    reason: str = "",
    excerpt: str = "",
    shadow: bool = False,
    actor: str = "",
    warning_id: int | None = None,
    key: str | None = None,
) -> int | None:
    """Write a moderation-log row; None when its key exists (the action was already taken)."""
    return await ctx.repo(Moderation).log(
        key or f"evt:{ctx.event_id}:{rule}:{action}:{target}",
        group_id=ctx.group_id,
        user_id=target,
        rule=rule,
        action=action,
        reason=reason[:500],
        excerpt=excerpt[:500],
        shadow=shadow,
        actor_id=actor,
        warning_id=warning_id,
        event_id=ctx.event_id,
        created_at=ctx.now(),
    )


async def protected(ctx: Context, cfg: RulesConfig, target: str) -> bool:
    """Staff, or someone who outranks or equals the one acting: never warned or removed."""
    rank = await role_of(ctx, target)
    return rank >= Role.ADMIN or rank >= ctx.role or target in cfg.exempt


async def removed(ctx: Context, target: str) -> bool:
    """Whether the bot already removed ``target`` during their current stay."""
    assert ctx.group_id is not None
    member = await ctx.repo(Members).get(ctx.group_id, target)
    key = f"kick:{ctx.group_id}:{target}:{member.join_count if member is not None else 0}"
    return await ctx.repo(Moderation).logged(key)


async def delete_quietly(ctx: Context, rule: str, reason: str, excerpt: str) -> bool:
    """Delete the current message where the platform can; logged, nobody told."""
    msg = ctx.message
    assert msg is not None
    if not (can_enforce(ctx) and msg.message_id):
        await record(ctx, ctx.user_id, rule, "delete_unsupported", reason=reason, excerpt=excerpt)
        return False
    await ctx.act("delete", message_id=msg.message_id)
    await record(ctx, ctx.user_id, rule, "delete", reason=reason, excerpt=excerpt)
    return True


async def kick(ctx: Context, target: str, rule: str, reason: str, actor: str = "") -> str:
    """Remove ``target`` (once per stay). Returns ``kick``, ``kick_unsupported`` or ``""``
    when this stay already ended in a removal or the target is staff."""
    assert ctx.group_id is not None
    if await role_of(ctx, target) >= Role.ADMIN or target in ctx.feature(RulesConfig).exempt:
        return ""  # warnings piled up before they became staff never remove them
    if not can_enforce(ctx):
        await record(ctx, target, rule, "kick_unsupported", reason=reason, actor=actor)
        return "kick_unsupported"
    member = await ctx.repo(Members).get(ctx.group_id, target)
    stay = member.join_count if member is not None else 0
    key = f"kick:{ctx.group_id}:{target}:{stay}"
    if await record(ctx, target, rule, "kick", reason=reason, actor=actor, key=key) is None:
        return ""
    await ctx.act("kick", user_id=target)
    return "kick"


async def warn_member(
    ctx: Context,
    cfg: RulesConfig,
    target: str,
    name: str,
    rule: str,
    reason: str,
    excerpt: str = "",
    actor: str = "",
) -> Outcome:
    """Add a warning, tell the group, and at the limit remove the member."""
    assert ctx.group_id is not None
    now = ctx.now()
    moderation = ctx.repo(Moderation)
    wid = await moderation.add_warning(
        f"evt:{ctx.event_id}:{target}",
        group_id=ctx.group_id,
        user_id=target,
        rule=rule,
        reason=reason[:500],
        actor_id=actor,
        created_at=now,
        expires_at=now + timedelta(days=cfg.warning_days),
    )
    out = Outcome()
    if wid is None:
        return out  # this event already warned them
    count = await moderation.warning_count(ctx.group_id, target, now)
    log_id = await record(
        ctx, target, rule, "warn", reason=reason, excerpt=excerpt, actor=actor, warning_id=wid
    )
    out.done.append(f"警告 {count}/{cfg.warn_limit}")
    if log_id is not None:
        out.undo.append(log_id)
    lines = [ctx.render(T_WARN, name=name, reason=reason, count=count, limit=cfg.warn_limit)]
    if count >= cfg.warn_limit and cfg.limit_action == "kick":
        done = await kick(ctx, target, rule, f"警告达到上限 {cfg.warn_limit}", actor)
        if done == "kick":
            lines.append(ctx.render(T_KICKED, name=name))
            out.done.append("移出群聊")
        elif done == "kick_unsupported":
            lines.append(ctx.render(T_NO_KICK, name=name))
            out.done.append("移出（本平台不支持，请管理员手动移出）")
    await ctx.reply("\n".join(lines), mention=target == ctx.user_id)
    return out


async def plan(ctx: Context, cfg: RulesConfig, check: Check, target: str) -> list[str]:
    """What ``check`` would do to ``target`` now, in words (shadow mode)."""
    assert ctx.group_id is not None
    out = []
    for action in check.actions:
        if action == "delete":
            out.append("撤回消息" if can_enforce(ctx) else "撤回消息（本平台不支持）")
        elif action == "warn":
            n = await ctx.repo(Moderation).warning_count(ctx.group_id, target, ctx.now()) + 1
            at_limit = n >= cfg.warn_limit and cfg.limit_action == "kick"
            out.append(f"警告 {n}/{cfg.warn_limit}" + ("并移出" if at_limit else ""))
        else:
            out.append("移出群聊" if can_enforce(ctx) else "移出（本平台不支持）")
    return out or ["仅提醒"]


async def enforce(
    ctx: Context, cfg: RulesConfig, rule: str, check: Check, reason: str, excerpt: str
) -> None:
    """Run ``check``'s ladder on the current message's sender; always report to the admins."""
    msg = ctx.message
    assert msg is not None
    target = ctx.user_id
    if await removed(ctx, target):
        return  # removed already; what they sent before it took effect changes nothing
    name = (ctx.member.name if ctx.member else "") or await ctx.member_name(target)
    common = {"name": name, "user": target, "reason": reason, "excerpt": excerpt}
    if check.shadow:
        would = await plan(ctx, cfg, check, target)
        for action in check.actions or ["report"]:
            await record(ctx, target, rule, action, reason=reason, excerpt=excerpt, shadow=True)
        await alert_admins(ctx, cfg, ctx.render(T_SHADOW, actions="、".join(would), **common))
        return
    out = Outcome()
    for action in check.actions:
        if action == "delete":
            if await delete_quietly(ctx, rule, reason, excerpt):
                out.done.append("撤回消息")
            else:
                out.done.append("撤回（本平台不支持，请管理员手动撤回）")
        elif action == "warn":
            got = await warn_member(ctx, cfg, target, name, rule, reason, excerpt)
            out.done += got.done
            out.undo += got.undo
        elif action == "kick" and "移出群聊" not in out.done:
            done = await kick(ctx, target, rule, reason)
            if done == "kick":
                await ctx.reply(ctx.render(T_KICKED, name=name))
                out.done.append("移出群聊")
            elif done == "kick_unsupported":
                out.done.append("移出（本平台不支持，请管理员手动移出）")
    if not check.actions:
        await record(ctx, target, rule, "report", reason=reason, excerpt=excerpt)
    undo = "".join(f"\n撤销警告：/撤销 {i}" for i in out.undo)
    await alert_admins(
        ctx, cfg, ctx.render(T_REPORT, actions="、".join(out.done) or "仅提醒", undo=undo, **common)
    )
