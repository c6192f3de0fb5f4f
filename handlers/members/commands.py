"""Member tag commands for admins: /标签 @成员 标签, /去标签 @成员 标签, /标签列表 [标签].

Rules:
- Admins only (the group's owner and admins, configured admins, global admins), in a group.
- ``@x`` is a platform mention, a user id or (when unambiguous) a member's shown name; the
  member must have been seen in this group. The tag must be a valid tag (``[members] tags``
  when set). Anything else answers the usage line and changes nothing.
- Every change is an audit row with the admin as actor (``handlers.members.tags``).
"""

from __future__ import annotations

from bot import CommandOptions, Context, Members, Role, Router, group_only, templates
from handlers.members.config import MembersConfig
from handlers.members.repo import Tags
from handlers.members.tags import TooMany

router = Router("members")
V = ("group", "bot")
T_TAGGED = templates.register(
    "members.tagged", "🏷️ 已给 {name} 加上标签「{tag}」", *V, "name", "tag"
)
T_HAD = templates.register("members.tag_had", "🏷️ {name} 已有标签「{tag}」", *V, "name", "tag")
T_UNTAGGED = templates.register(
    "members.untagged", "🏷️ 已去掉 {name} 的标签「{tag}」", *V, "name", "tag"
)
T_NOT_TAGGED = templates.register(
    "members.tag_missing", "🏷️ {name} 没有标签「{tag}」", *V, "name", "tag"
)
T_LIST = templates.register("members.tag_list", "🏷️ 本群标签：\n{lines}", *V, "lines")
T_NONE = templates.register("members.tag_none", "🏷️ 本群还没有成员标签", *V)
T_WHO = templates.register(
    "members.tag_who", "🏷️ 标签「{tag}」共 {count} 人：{names}", *V, "tag", "count", "names"
)
T_BAD = templates.register("members.bad", "⚠️ {what}", *V, "what")
ADMIN: CommandOptions = {"role": Role.ADMIN, "filters": (group_only,)}
SHOWN = 50  # names listed by /标签列表 <标签>


async def target_of(ctx: Context) -> str | None:
    """The first ``@x`` as a member id of this group (a unique shown name is resolved);
    None when nobody by that id or name was seen here."""
    assert ctx.command is not None and ctx.group_id is not None
    if not ctx.command.mentions:
        return None
    token = ctx.command.mentions[0][:128]
    members = ctx.repo(Members)
    if await members.get(ctx.group_id, token) is not None:
        return token
    ids = await members.named(ctx.group_id, token)
    return ids[0] if len(ids) == 1 else None


async def _bad(ctx: Context, what: str) -> None:
    await ctx.reply(ctx.render(T_BAD, what=what))


async def _parsed(ctx: Context, usage: str) -> tuple[str, str] | None:
    """(member, tag) of ``/标签 @成员 标签``, or None after answering why not."""
    assert ctx.command is not None
    cfg = ctx.feature(MembersConfig)
    words = ctx.command.words
    if not ctx.command.mentions or len(words) != 1:
        await _bad(ctx, f"用法：{usage}")
        return None
    tag = words[0]
    if not cfg.allows(tag):
        allowed = (
            f"可用标签：{'、'.join(cfg.tags)}" if cfg.tags else "标签为 1–20 个字，不含空格和 @ / #"
        )
        await _bad(ctx, f"标签「{tag[:20]}」不可用（{allowed}）")
        return None
    target = await target_of(ctx)
    if target is None:
        await _bad(ctx, f"本群没有见过成员 {ctx.command.mentions[0][:40]}")
        return None
    return target, tag


@router.command("标签", "tag", help="给成员加标签", usage="@成员 标签", **ADMIN)
async def tag_cmd(ctx: Context) -> None:
    assert ctx.group_id is not None
    got = await _parsed(ctx, "/标签 @成员 标签")
    if got is None:
        return
    target, tag = got
    cfg = ctx.feature(MembersConfig)
    name = await ctx.member_name(target)
    try:
        new = await ctx.repo(Tags).add(
            gid=ctx.group_id,
            uid=target,
            tag=tag,
            source="manual",
            actor=ctx.user_id,
            now=ctx.now(),
            cap=cfg.max_tags_per_member,
            event_id=ctx.event_id,
        )
    except TooMany:
        await _bad(ctx, f"{name} 的标签已达上限 {cfg.max_tags_per_member} 个")
        return
    await ctx.reply(ctx.render(T_TAGGED if new else T_HAD, name=name, tag=tag))


@router.command("去标签", "untag", help="去掉成员的标签", usage="@成员 标签", **ADMIN)
async def untag_cmd(ctx: Context) -> None:
    assert ctx.group_id is not None
    got = await _parsed(ctx, "/去标签 @成员 标签")
    if got is None:
        return
    target, tag = got
    gone = await ctx.repo(Tags).remove(
        gid=ctx.group_id,
        uid=target,
        tag=tag,
        source="manual",
        actor=ctx.user_id,
        now=ctx.now(),
        event_id=ctx.event_id,
    )
    name = await ctx.member_name(target)
    await ctx.reply(ctx.render(T_UNTAGGED if gone else T_NOT_TAGGED, name=name, tag=tag))


@router.command("标签列表", "tags", help="查看本群的成员标签", usage="[标签]", **ADMIN)
async def list_cmd(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    words = ctx.command.words
    if not words:
        counts = await ctx.repo(Tags).counts(ctx.group_id)
        if not counts:
            await ctx.reply(ctx.render(T_NONE))
            return
        lines = "\n".join(f"{t}：{n} 人" for t, n in counts[:SHOWN])
        await ctx.reply(ctx.render(T_LIST, lines=lines))
        return
    tag = words[0]
    if len(words) > 1 or not ctx.feature(MembersConfig).allows(tag):
        await _bad(ctx, "用法：/标签列表 [标签]")
        return
    ids = sorted(await ctx.repo(Tags).tagged(ctx.group_id, tag))
    names = [await ctx.member_name(u) for u in ids[:SHOWN]]
    more = f" 等（共 {len(ids)} 人）" if len(ids) > SHOWN else ""
    shown = "、".join(names) + more if names else "（无）"
    await ctx.reply(ctx.render(T_WHO, tag=tag, count=len(ids), names=shown))
