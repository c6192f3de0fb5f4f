"""Admins edit the programme from chat; edits are rows in the database, so they survive
restarts and every instance sees them at its next tick.

- ``/加节目 周三 10:00 主题 内容`` adds a slot for this group (refused inside quiet hours).
- ``/删节目 <节目>`` removes a slot added from chat (config slots can only be paused).
- ``/暂停节目 <节目>`` / ``/恢复节目 <节目>`` pause and resume any slot in this group.
- ``/节目预览 <节目>`` renders a slot's content now, as a reply (the slot is not claimed).
"""

from __future__ import annotations

from pydantic import ValidationError

from bot import CommandOptions, Context, Role, Router, group_only, templates
from handlers.programme.config import ProgrammeConfig
from handlers.programme.posting import render_slot, slot_of
from handlers.programme.repo import Ledger
from handlers.programme.slots import find_slot
from schedules.model import VARIABLES, Slot, in_quiet, parse_quiet

router = Router("programme-admin")
V = ("group", "bot")
T_DONE = templates.register("programme.edited", "✅ {what}", "what", *V)
T_FAIL = templates.register("programme.edit_failed", "⚠️ {reason}", "reason", *V)
T_PREVIEW = templates.register(
    "programme.preview", "👀 预览「{theme}」：\n{content}", "theme", "content", *V
)
ADMIN: CommandOptions = {"role": Role.ADMIN, "filters": (group_only,)}


async def _slot(ctx: Context) -> Slot | None:
    assert ctx.command is not None
    if not ctx.command.words:
        return None
    return await slot_of(ctx, ctx.command.words[0])


def content_problem(text: str) -> None:
    """Raise ValueError with a Chinese reason unless ``text`` is content a slot may have."""
    try:
        templates.validate(text, VARIABLES)
    except templates.TemplateError as exc:
        names = "、".join("{" + v + "}" for v in sorted(VARIABLES))
        raise ValueError(
            f"节目内容只能用 {{名字}} 这样的占位符（可用：{names}），"
            f"不能带格式、转换或 . [ ]。问题：{exc}"
        ) from None


SLOT_PROBLEMS = {
    "days": "日子只能写 周一…周日、星期一…星期日、每天、工作日、周末（多个用逗号分开）",
    "time": "时间要写成 HH:MM，例如 10:00",
    "id": "主题最多 64 个字，只能用中文、字母、数字、_ 和 -",
    "theme": "主题格式不对",
    "content": "内容格式不对",
}


def slot_problem(exc: ValidationError) -> str:
    """The first problem of a slot typed in chat, in Chinese (pydantic's text is English)."""
    loc = exc.errors()[0]["loc"]
    field = str(loc[0]) if loc else ""
    return "节目格式不对：" + SLOT_PROBLEMS.get(field, "请检查日子、时间和主题")


@router.command("加节目", help="添加本群节目", usage="周三 10:00 主题 内容", **ADMIN)
async def add(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    words = ctx.command.raw_args.split(maxsplit=3)
    cfg = ctx.feature(ProgrammeConfig)
    try:
        if len(words) < 4:
            raise ValueError("用法：/加节目 周三 10:00 主题 内容")
        content_problem(words[3])
        slot = Slot(
            id=words[2],
            days=words[0].split(","),
            time=words[1],
            theme=words[2],
            content=words[3],
            targets=[ctx.group_id],
        )
    except ValidationError as exc:
        await ctx.reply(ctx.render(T_FAIL, reason=slot_problem(exc)))
        return
    except ValueError as exc:
        await ctx.reply(ctx.render(T_FAIL, reason=str(exc)))
        return
    if in_quiet(slot.at, parse_quiet(cfg.quiet_hours)):
        reason = f"{slot.time} 在本群免打扰时段 {cfg.quiet_hours} 内"
        await ctx.reply(ctx.render(T_FAIL, reason=reason))
        return
    if find_slot(cfg, slot.id) is not None:
        await ctx.reply(ctx.render(T_FAIL, reason=f"已有名为「{slot.id}」的节目"))
        return
    row = dict(
        group_id=ctx.group_id,
        slot_id=slot.id,
        days=",".join(slot.days),
        time=slot.time,
        theme=slot.theme,
        content=slot.content,
        created_by=ctx.user_id,
        created_at=ctx.now(),
    )
    if not await ctx.repo(Ledger).add_slot(row):
        await ctx.reply(ctx.render(T_FAIL, reason=f"已有名为「{slot.id}」的节目"))
        return
    await ctx.audit("programme.add", slot.id, days=slot.days, time=slot.time)
    what = f"已添加节目「{slot.id}」：{' '.join(slot.days)} {slot.time}"
    await ctx.reply(ctx.render(T_DONE, what=what))


@router.command("删节目", help="删除聊天里添加的节目", usage="<节目>", **ADMIN)
async def remove(ctx: Context) -> None:
    assert ctx.command is not None
    sid = ctx.command.words[0] if ctx.command.words else ""
    if not await ctx.repo(Ledger).remove_slot(ctx.group_id, sid):
        in_config = find_slot(ctx.feature(ProgrammeConfig), sid) is not None
        reason = "配置文件里的节目不能删除，可以 /暂停节目" if in_config else f"没有节目「{sid}」"
        await ctx.reply(ctx.render(T_FAIL, reason=reason))
        return
    await ctx.audit("programme.remove", sid)
    await ctx.reply(ctx.render(T_DONE, what=f"已删除节目「{sid}」"))


@router.command("暂停节目", help="暂停本群某个节目", usage="<节目>", **ADMIN)
async def pause(ctx: Context) -> None:
    slot = await _slot(ctx)
    if slot is None:
        await ctx.reply(ctx.render(T_FAIL, reason="没有这个节目，发送 /节目表 查看"))
        return
    await ctx.repo(Ledger).pause(ctx.group_id, slot.id, ctx.user_id, ctx.now())
    await ctx.audit("programme.pause", slot.id)
    await ctx.reply(ctx.render(T_DONE, what=f"已暂停节目「{slot.id}」，/恢复节目 {slot.id} 可恢复"))


@router.command("恢复节目", help="恢复已暂停的节目", usage="<节目>", **ADMIN)
async def resume(ctx: Context) -> None:
    slot = await _slot(ctx)
    if slot is None:
        await ctx.reply(ctx.render(T_FAIL, reason="没有这个节目，发送 /节目表 查看"))
        return
    await ctx.repo(Ledger).resume(ctx.group_id, slot.id)
    await ctx.audit("programme.resume", slot.id)
    await ctx.reply(ctx.render(T_DONE, what=f"已恢复节目「{slot.id}」"))


@router.command("节目预览", help="预览节目内容（不发到群里）", usage="<节目>", **ADMIN)
async def preview(ctx: Context) -> None:
    slot = await _slot(ctx)
    if slot is None:
        await ctx.reply(ctx.render(T_FAIL, reason="没有这个节目，发送 /节目表 查看"))
        return
    try:
        content = await render_slot(ctx, slot)
    except templates.TemplateError as exc:
        reason = f"节目「{slot.id}」的内容无法使用（{exc}），请 /删节目 后重新添加"
        await ctx.reply(ctx.render(T_FAIL, reason=reason))
        return
    await ctx.reply(ctx.render(T_PREVIEW, theme=slot.theme or slot.id, content=content))
