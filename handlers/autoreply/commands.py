"""Keyword replies from chat: /加回复, /删回复, /回复列表 (admins, in the group).

Rules:
- ``/加回复 关键词 回复内容``: the message contains the keyword. ``a|b`` answers when either
  appears, ``a+b`` when both do, ``=a`` only when the whole message is ``a``. Keywords are
  normalised and checked like banned words; the reply is a template naming only
  ``{name} {group} {bot} {date} {weekday} {members} {checkins_today} {top_checkin}``.
  Adding the same keywords again replaces the reply (one row per group and keywords, unique).
  The checks and rows are ``editing.py``'s, shared with the console's 自动回复 tab.
- A group holds at most ``max_chat_rules`` chat rules.
- ``/删回复 关键词`` (as added) or ``/删回复 #编号`` removes a chat rule; rules from the config
  file are changed there, and the admin is told so.
- ``/回复列表`` lists the rules in force here with today's answers per rule.
- Bad input gets a usage line or the reason, and changes nothing.
"""

from __future__ import annotations

from bot import (
    CommandOptions,
    Context,
    Role,
    Router,
    group_only,
    normalise,
    number,
    templates,
)
from handlers.autoreply.chatrules import chat_rules, forget_chat_rules
from handlers.autoreply.config import AutoreplyConfig
from handlers.autoreply.editing import RuleRefused, drop_rule, put_rule
from handlers.autoreply.logic import entries_for
from handlers.autoreply.repo import Replies

router = Router("autoreply-commands")
ADMIN: CommandOptions = {"role": Role.ADMIN, "filters": (group_only,)}
T_DONE = templates.register("autoreply.done", "✅ {what}", "what", "group", "bot")
T_BAD = templates.register("autoreply.bad", "⚠️ {what}", "what", "group", "bot")
MATCH_CN = {"exact": "整句", "contains": "同时包含", "any": "包含"}


async def say(ctx: Context, key: str, what: str) -> None:
    await ctx.reply(ctx.render(key, what=what))


@router.command("加回复", help="添加关键词自动回复", usage="关键词 回复内容", **ADMIN)
async def add_rule(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    spec, _, reply = ctx.command.raw_args.strip().partition(" ")
    cfg = ctx.feature(AutoreplyConfig)
    try:
        rid, match, words = await put_rule(
            ctx.repo(Replies), cfg, ctx.group_id, spec, reply.strip(), ctx.user_id, ctx.now()
        )
    except RuleRefused as exc:
        await say(ctx, T_BAD, str(exc))
        return
    forget_chat_rules(ctx)
    await ctx.audit("autoreply.add", f"#{rid}", keywords=words, match=match)
    shown = "、".join(words)
    await say(ctx, T_DONE, f"已设置关键词回复 #{rid}（{MATCH_CN[match]}：{shown}）")


@router.command("删回复", help="删除关键词自动回复", usage="关键词|#编号", **ADMIN)
async def remove_rule(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    spec = ctx.command.raw_args.strip()
    if not spec:
        await say(ctx, T_BAD, "用法：/删回复 关键词（与添加时相同）或 /删回复 #编号")
        return
    n = number(spec, 1) if spec.startswith(("#", "＃")) else None
    try:
        removed = await drop_rule(ctx.repo(Replies), ctx.group_id, n, spec)
    except RuleRefused as exc:
        await say(ctx, T_BAD, str(exc))
        return
    if not removed:
        await say(ctx, T_BAD, await _not_found(ctx, spec))
        return
    forget_chat_rules(ctx)
    await ctx.audit("autoreply.remove", spec[:64])
    await say(ctx, T_DONE, f"已删除关键词回复 {spec[:40]}")


async def _not_found(ctx: Context, spec: str) -> str:
    assert ctx.group_id is not None
    cfg = ctx.feature(AutoreplyConfig)
    norm = normalise(spec.lstrip("=＝"))[0]
    for e in entries_for(cfg, ctx.group, ctx.group_id, []):
        if any(normalise(k)[0] == norm for k in e.keywords):
            return f"「{spec[:20]}」是配置文件里的回复（{e.id}），请在配置文件中修改"
    return f"没有关键词回复「{spec[:20]}」，发送 /回复列表 查看"


@router.command("回复列表", help="查看本群的关键词自动回复", **ADMIN)
async def list_rules(ctx: Context) -> None:
    assert ctx.group_id is not None
    cfg = ctx.feature(AutoreplyConfig)
    entries = entries_for(cfg, ctx.group, ctx.group_id, list(await chat_rules(ctx)))
    if not entries:
        await say(ctx, T_DONE, "本群还没有关键词回复，管理员可发送 /加回复 关键词 回复内容")
        return
    day = ctx.local_day()
    today = await ctx.repo(Replies).hits(ctx.group_id, day, day)
    lines = [f"本群关键词回复（{len(entries)} 条，冷却 {cfg.cooldown_s:g} 秒）："]
    for e in entries[:50]:
        when = e.when
        extra = f"，{when.hours}" if when is not None and when.hours else ""
        n = today.get(e.id, {}).get(day, 0)
        words = "、".join(e.keywords[:5])[:40]
        lines.append(f"{e.id} [{MATCH_CN[e.match]}] {words}{extra}（今日 {n} 次）")
    if len(entries) > 50:
        lines.append(f"……另有 {len(entries) - 50} 条")
    await ctx.reply("\n".join(lines))
