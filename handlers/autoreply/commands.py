"""Keyword replies from chat: /加回复, /删回复, /回复列表 (admins, in the group).

Rules:
- ``/加回复 关键词 回复内容``: the message contains the keyword. ``a|b`` answers when either
  appears, ``a+b`` when both do, ``=a`` only when the whole message is ``a``. Keywords are
  normalised and checked like banned words; the reply is a template naming only
  ``{name} {group} {bot} {date} {weekday} {members} {checkins_today} {top_checkin}``.
  Adding the same keywords again replaces the reply (one row per group and keywords, unique).
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
    PatternError,
    Patterns,
    Role,
    Router,
    group_only,
    normalise,
    number,
    templates,
)
from handlers.autoreply.chatrules import chat_rules, forget_chat_rules
from handlers.autoreply.config import VARIABLES, AutoreplyConfig
from handlers.autoreply.logic import entries_for
from handlers.autoreply.repo import Replies

router = Router("autoreply-commands")
ADMIN: CommandOptions = {"role": Role.ADMIN, "filters": (group_only,)}
T_DONE = templates.register("autoreply.done", "✅ {what}", "what", "group", "bot")
T_BAD = templates.register("autoreply.bad", "⚠️ {what}", "what", "group", "bot")
USAGE_ADD = "用法：/加回复 关键词 回复内容（a|b 任一出现，a+b 同时出现，=a 整句等于 a）"
MATCH_CN = {"exact": "整句", "contains": "同时包含", "any": "包含"}


def parse_spec(spec: str) -> tuple[str, list[str]]:
    """(match kind, keywords) of a typed keyword spec; ValueError with a Chinese reason."""
    if spec.startswith(("=", "＝")):
        match, words = "exact", [spec[1:]]
    elif "+" in spec or "＋" in spec:
        match, words = "contains", spec.replace("＋", "+").split("+")
    else:
        match, words = "any", spec.replace("｜", "|").split("|")
    words = [w for w in words if w]
    if not words or len(words) > 20:
        raise ValueError("请写 1 到 20 个关键词")
    try:
        Patterns.compile(words)
    except PatternError as exc:
        word = words[exc.index]
        why = "最长 64 个字" if "longer" in exc.reason else "需要包含文字或数字"
        raise ValueError(f"关键词「{word[:20]}」无法使用：{why}") from None
    return match, words


def key_of(match: str, words: list[str]) -> str:
    """One group's rule identity: the kind and its normalised keywords."""
    norm = sorted({normalise(w)[0] for w in words})
    return f"{match}:{'|'.join(norm)}"[:400]


async def say(ctx: Context, key: str, what: str) -> None:
    await ctx.reply(ctx.render(key, what=what))


@router.command("加回复", help="添加关键词自动回复", usage="关键词 回复内容", **ADMIN)
async def add_rule(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    spec, _, reply = ctx.command.raw_args.strip().partition(" ")
    reply = reply.strip()
    if not spec or not reply:
        await say(ctx, T_BAD, USAGE_ADD)
        return
    try:
        match, words = parse_spec(spec)
        templates.validate(reply, VARIABLES)
    except templates.TemplateError as exc:
        names = " ".join("{" + v + "}" for v in sorted(VARIABLES))
        await say(ctx, T_BAD, f"回复内容无法使用（{exc}）。可用的占位符：{names}")
        return
    except ValueError as exc:
        await say(ctx, T_BAD, str(exc))
        return
    if len(reply) > 2000:
        await say(ctx, T_BAD, "回复内容最长 2000 个字")
        return
    cfg = ctx.feature(AutoreplyConfig)
    key = key_of(match, words)
    replies = ctx.repo(Replies)
    if await replies.rules_besides(ctx.group_id, key) >= cfg.max_chat_rules:
        await say(ctx, T_BAD, f"本群最多 {cfg.max_chat_rules} 条关键词回复，请先 /删回复")
        return
    values = dict(reply=reply, keywords=words, created_by=ctx.user_id, created_at=ctx.now())
    rid = await replies.put_rule(ctx.group_id, key, match, **values)
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
    key = None
    if n is None:
        try:
            key = key_of(*parse_spec(spec))
        except ValueError as exc:
            await say(ctx, T_BAD, str(exc))
            return
    if not await ctx.repo(Replies).remove_rule(ctx.group_id, n, key):
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
