"""Rules commands: /规则, /设置规则, /警告, /撤销警告, /警告记录, /白名单.

Every manual action is in the moderation log; a revoked warning no longer counts.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from bot import templates
from bot.commands import Role
from bot.dispatch.context import Context
from bot.dispatch.router import Router, group_only
from handlers.rules_config import RulesConfig
from storage.dialect import insert_ignore
from storage.models_moderation import AllowListEntry, ModerationLog, Warning_

router = Router("rules-commands")
T_RULES = templates.register("rules.text", "📜 {group} 群规：\n{rules}", "rules", "group", "bot")
T_DONE = templates.register("rules.done", "✅ {what}", "what", "group", "bot")
T_BAD = templates.register("rules.bad", "⚠️ {what}", "what", "group", "bot")
ADMIN = {"role": Role.ADMIN, "filters": (group_only,)}


@router.command("规则", "rules", help="查看群规", filters=(group_only,))
async def show(ctx: Context) -> None:
    cfg: RulesConfig = ctx.feature("rules")
    await ctx.reply(ctx.render(T_RULES, rules=await ctx.setting("rules.text", cfg.text)))


@router.command("设置规则", help="设置本群群规", usage="群规内容", **ADMIN)  # type: ignore[arg-type]
async def set_rules(ctx: Context) -> None:
    assert ctx.command is not None
    text = ctx.command.raw_args.strip()
    if not text:
        await ctx.reply(ctx.render(T_BAD, what="用法：/设置规则 群规内容"))
        return
    await ctx.set_setting("rules.text", text[:2000])
    await ctx.audit("rules.set", "", length=len(text))
    await ctx.reply(ctx.render(T_DONE, what="群规已更新，发送 /规则 查看"))


@router.command("警告", "warn", help="警告成员", usage="@成员 原因", **ADMIN)  # type: ignore[arg-type]
async def warn_cmd(ctx: Context) -> None:
    from handlers.rules import log, warn

    assert ctx.command is not None
    if not ctx.command.mentions:
        await ctx.reply(ctx.render(T_BAD, what="用法：/警告 @成员 原因"))
        return
    target = ctx.command.mentions[0]
    reason = " ".join(ctx.command.words) or "管理员警告"
    done = await warn(
        ctx, ctx.feature("rules"), target, "manual", reason, await ctx.member_name(target)
    )
    for action in done:
        await log(ctx, target, "manual", action, reason, "", False)


@router.command("撤销警告", help="撤销成员最近一次警告", usage="@成员", **ADMIN)  # type: ignore[arg-type]
async def revoke(ctx: Context) -> None:
    from handlers.rules import log

    assert ctx.command is not None
    if not ctx.command.mentions:
        await ctx.reply(ctx.render(T_BAD, what="用法：/撤销警告 @成员"))
        return
    target = ctx.command.mentions[0]
    last = await ctx.session.scalar(
        select(Warning_)
        .where(
            Warning_.group_id == ctx.group_id,
            Warning_.user_id == target,
            Warning_.revoked.is_(False),
            Warning_.expires_at > ctx.now(),
        )
        .order_by(Warning_.id.desc())
        .limit(1)
    )
    if last is None:
        await ctx.reply(ctx.render(T_BAD, what="没有可撤销的警告"))
        return
    last.revoked = True
    await log(ctx, target, "manual", "revoke", last.reason, "", False)
    await ctx.reply(ctx.render(T_DONE, what=f"已撤销 {await ctx.member_name(target)} 的一次警告"))


@router.command("警告记录", help="查看成员的警告和处理记录", usage="@成员", **ADMIN)  # type: ignore[arg-type]
async def history(ctx: Context) -> None:
    assert ctx.command is not None
    target = ctx.command.mentions[0] if ctx.command.mentions else ctx.user_id
    now = ctx.now()
    warns = (
        await ctx.session.scalars(
            select(Warning_)
            .where(Warning_.group_id == ctx.group_id, Warning_.user_id == target)
            .order_by(Warning_.id)
        )
    ).all()
    logs = (
        await ctx.session.scalars(
            select(ModerationLog)
            .where(ModerationLog.group_id == ctx.group_id, ModerationLog.user_id == target)
            .order_by(ModerationLog.id.desc())
            .limit(10)
        )
    ).all()
    lines = []
    for w in warns:
        state = "已撤销" if w.revoked else ("已过期" if w.expires_at <= now else "生效中")
        lines.append(f"警告 {w.created_at.astimezone(ctx.tz):%m-%d} {w.reason}（{state}）")
    lines += [
        f"#{e.id} {e.rule}/{e.action}{'（试运行）' if e.shadow else ''} {e.reason}" for e in logs
    ]
    await ctx.reply(f"{await ctx.member_name(target)} 的记录：\n" + ("\n".join(lines) or "（无）"))


@router.command("白名单", help="群规白名单", usage="添加|移除|列表 @成员", **ADMIN)  # type: ignore[arg-type]
async def allowlist(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    op = ctx.command.words[0] if ctx.command.words else "列表"
    if op == "列表":
        rows = (
            await ctx.session.scalars(
                select(AllowListEntry.user_id).where(AllowListEntry.group_id == ctx.group_id)
            )
        ).all()
        await ctx.reply(ctx.render(T_DONE, what="白名单：" + ("、".join(rows) or "（空）")))
        return
    if op not in ("添加", "移除") or not ctx.command.mentions:
        await ctx.reply(ctx.render(T_BAD, what="用法：/白名单 添加|移除|列表 @成员"))
        return
    target = ctx.command.mentions[0]
    if op == "添加":
        stmt = insert_ignore(ctx.session, AllowListEntry.__table__, ["group_id", "user_id"])
        await ctx.session.execute(
            stmt,
            [dict(group_id=ctx.group_id, user_id=target, added_by=ctx.user_id, added_at=ctx.now())],
        )
    else:
        await ctx.session.execute(
            delete(AllowListEntry).where(
                AllowListEntry.group_id == ctx.group_id, AllowListEntry.user_id == target
            )
        )
    await ctx.audit(f"rules.allowlist.{'add' if op == '添加' else 'remove'}", target)
    await ctx.reply(ctx.render(T_DONE, what=f"已{op} {target}"))
