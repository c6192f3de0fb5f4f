"""Rules commands: /规则, /设置规则, /警告, /撤销警告, /警告记录, /白名单, /撤销.

Rules:
- Everyone may read the rules; everything else is for admins.
- Every manual action is a moderation-log row (actor = the admin); a revoked warning no longer
  counts. ``/撤销 <记录号>`` undoes what can be undone: a warning (revoked), an allow-list change
  (reversed); a removal or a deleted message cannot be undone and the admin is told so.
- ``@x`` may be a platform mention, a user id or (when unambiguous) a member's shown name.
"""

from __future__ import annotations

from bot import CommandOptions, Context, Members, Role, Router, group_only, number, templates
from handlers.rules.actions import protected, record, warn_member
from handlers.rules.config import RulesConfig
from handlers.rules.repo import Moderation

router = Router("rules-commands")
T_RULES = templates.register("rules.text", "📜 {group} 群规：\n{rules}", "rules", "group", "bot")
T_DONE = templates.register("rules.done", "✅ {what}", "what", "group", "bot")
T_BAD = templates.register("rules.bad", "⚠️ {what}", "what", "group", "bot")
ADMIN: CommandOptions = {"role": Role.ADMIN, "filters": (group_only,)}


async def target_of(ctx: Context) -> str | None:
    """The first ``@x`` of the command as a user id (a unique shown name is resolved)."""
    assert ctx.command is not None and ctx.group_id is not None
    if not ctx.command.mentions:
        return None
    token = ctx.command.mentions[0]
    members = ctx.repo(Members)
    if await members.get(ctx.group_id, token) is not None:
        return token
    ids = await members.named(ctx.group_id, token)
    return ids[0] if len(ids) == 1 else token


async def bad(ctx: Context, what: str) -> None:
    await ctx.reply(ctx.render(T_BAD, what=what))


async def done(ctx: Context, what: str) -> None:
    await ctx.reply(ctx.render(T_DONE, what=what))


async def rules_text(ctx: Context) -> str:
    """The group's rules: as set with /设置规则, else ``[rules] text``."""
    return str(await ctx.setting("rules.text", ctx.feature(RulesConfig).text))


@router.command("规则", "rules", "群规", help="查看群规", filters=(group_only,))
async def show(ctx: Context) -> None:
    await ctx.reply(ctx.render(T_RULES, rules=await rules_text(ctx)))


@router.command("设置规则", help="设置本群群规", usage="群规内容", **ADMIN)
async def set_rules(ctx: Context) -> None:
    assert ctx.command is not None
    text = ctx.command.raw_args.strip()
    if not text:
        await bad(ctx, "用法：/设置规则 群规内容")
        return
    await ctx.set_setting("rules.text", text[:2000])
    await ctx.audit("rules.set", "", length=len(text))
    await done(ctx, "群规已更新，发送 /规则 查看")


@router.command("警告", "warn", help="警告成员", usage="@成员 原因", **ADMIN)
async def warn_cmd(ctx: Context) -> None:
    assert ctx.command is not None
    target = await target_of(ctx)
    if target is None:
        await bad(ctx, "用法：/警告 @成员 原因")
        return
    if ctx.is_self(target):
        await bad(ctx, "不能警告机器人自己")
        return
    if await protected(ctx, ctx.feature(RulesConfig), target):
        await bad(ctx, "抱歉，不能警告群主、管理员或工作人员，也不能警告与您同级或更高级别的成员。")
        return
    reason = " ".join(ctx.command.words) or "管理员警告"
    name = await ctx.member_name(target)
    out = await warn_member(
        ctx, ctx.feature(RulesConfig), target, name, "manual", reason, "", ctx.user_id
    )
    if out.undo:
        await done(ctx, f"已记录（记录号 #{out.undo[0]}，/撤销 {out.undo[0]} 可撤回）")


@router.command("撤销警告", help="撤销成员最近一次警告", usage="@成员", **ADMIN)
async def revoke(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    target = await target_of(ctx)
    if target is None:
        await bad(ctx, "用法：/撤销警告 @成员")
        return
    moderation = ctx.repo(Moderation)
    last = await moderation.last_warning(ctx.group_id, target, ctx.now())
    if last is None:
        await bad(ctx, "没有可撤销的警告")
        return
    await moderation.revoke(last.id, ctx.user_id, ctx.now())
    await record(ctx, target, "manual", "revoke", reason=last.reason, actor=ctx.user_id)
    left = await moderation.warning_count(ctx.group_id, target, ctx.now())
    name = await ctx.member_name(target)
    await done(ctx, f"已撤销 {name} 的一次警告（{last.reason}），现有 {left} 次")


@router.command("撤销", "undo", help="按记录号撤销处理", usage="记录号", **ADMIN)
async def undo(ctx: Context) -> None:
    """Undo one moderation-log row by its number (shown in reports and /警告记录)."""
    assert ctx.command is not None and ctx.group_id is not None
    words = ctx.command.words
    raw = words[0].lstrip("#＃") if words else ""
    n = number(raw, 1)
    moderation = ctx.repo(Moderation)
    row = await moderation.entry(n) if n is not None else None
    if row is None or row.group_id != ctx.group_id:
        await bad(
            ctx,
            "用法：/撤销 记录号（见管理员通知或 /警告记录）"
            if not raw
            else f"没有记录 #{raw[:20]}",
        )
        return
    name = await ctx.member_name(row.user_id)
    if row.undone_at is not None:
        await bad(ctx, f"#{row.id} 已经撤销过")
        return
    if row.shadow:
        await bad(ctx, f"#{row.id} 是试运行记录，并未执行，无需撤销")
        return
    if row.action == "warn" and row.warning_id is not None:
        w = await moderation.warning(row.warning_id)
        if w is None or w.revoked:
            await bad(ctx, f"#{row.id} 的警告已被撤销")
            return
        await moderation.revoke(w.id, ctx.user_id, ctx.now())
        what = f"已撤销 {name} 的警告（{w.reason}）"
    elif row.rule == "allowlist" and row.action in ("add", "remove"):
        await set_allowed(ctx, row.user_id, row.action == "remove")
        what = f"已{'移出' if row.action == 'add' else '恢复'} {name} 的白名单"
    elif row.action == "kick":
        await bad(ctx, f"移出无法自动撤销，请重新邀请 {name} 入群（可再用 /撤销警告 清除警告）")
        return
    elif row.action == "delete":
        await bad(ctx, "已撤回的消息无法恢复")
        return
    else:
        await bad(ctx, f"#{row.id}（{row.action}）无法撤销")
        return
    await moderation.mark_undone(row.id, ctx.now())
    await record(ctx, row.user_id, "manual", "undo", reason=f"撤销 #{row.id}", actor=ctx.user_id)
    await done(ctx, what)


@router.command("警告记录", help="查看成员的警告和处理记录", usage="@成员", **ADMIN)
async def history(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    target = await target_of(ctx) or ctx.user_id
    now = ctx.now()
    moderation = ctx.repo(Moderation)
    warns = await moderation.warnings_of(ctx.group_id, target)
    logs = await moderation.entries_of(ctx.group_id, target, 10)
    n = await moderation.warning_count(ctx.group_id, target, now)
    lines = [f"{await ctx.member_name(target)}：生效警告 {n} 次"]
    for w in warns:
        state = "已撤销" if w.revoked else ("已过期" if w.expires_at <= now else "生效中")
        lines.append(f"警告 {w.created_at.astimezone(ctx.tz):%m-%d %H:%M} {w.reason}（{state}）")
    for e in logs:
        flags = ("（试运行）" if e.shadow else "") + ("（已撤销）" if e.undone_at else "")
        lines.append(f"#{e.id} {e.rule}/{e.action}{flags} {e.reason}")
    await ctx.reply("\n".join(lines))


async def set_allowed(ctx: Context, target: str, allowed: bool) -> None:
    assert ctx.group_id is not None
    await ctx.repo(Moderation).set_allowed(ctx.group_id, target, allowed, ctx.user_id, ctx.now())


@router.command("白名单", help="群规白名单（不受群规检查）", usage="添加|移除|列表 @成员", **ADMIN)
async def allowlist(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    op = ctx.command.words[0] if ctx.command.words else "列表"
    if op in ("列表", "list"):
        rows = await ctx.repo(Moderation).allow_list(ctx.group_id)
        await done(ctx, "白名单：" + ("、".join(rows) or "（空）"))
        return
    target = await target_of(ctx)
    if op not in ("添加", "移除", "add", "remove") or target is None:
        await bad(ctx, "用法：/白名单 添加|移除|列表 @成员")
        return
    add = op in ("添加", "add")
    await set_allowed(ctx, target, add)
    log_id = await record(ctx, target, "allowlist", "add" if add else "remove", actor=ctx.user_id)
    verb = "添加" if add else "移除"
    await done(ctx, f"已{verb} {await ctx.member_name(target)}（记录号 #{log_id}）")
