"""Admins edit the programme from chat; edits are rows in the database, so they survive
restarts and every instance sees them at its next tick.

- ``/加节目 周三 10:00 主题 内容`` adds a slot for this group (refused inside quiet hours).
- ``/删节目 <节目>`` removes a slot added from chat (config slots can only be paused).
- ``/暂停节目 <节目>`` / ``/恢复节目 <节目>`` pause and resume any slot in this group.
- ``/节目预览 <节目>`` renders a slot's content now, as a reply (the slot is not claimed).

The checks of a new slot and its writes are ``handlers/programme/editing.py``, shared with
the console's 节目编辑 page.
"""

from __future__ import annotations

from bot import CommandOptions, Context, Role, Router, group_only, templates
from handlers.programme.config import ProgrammeConfig
from handlers.programme.editing import SlotRefused, add_slot, build_slot, remove_slot
from handlers.programme.posting import render_slot, slot_of
from handlers.programme.repo import Ledger
from schedules.model import Slot

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


@router.command("加节目", help="添加本群节目", usage="周三 10:00 主题 内容", **ADMIN)
async def add(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    words = ctx.command.raw_args.split(maxsplit=3)
    try:
        if len(words) < 4:
            raise SlotRefused("用法：/加节目 周三 10:00 主题 内容")
        slot = build_slot(ctx.feature(ProgrammeConfig), ctx.group_id, *words)
        await add_slot(ctx.repo(Ledger), ctx.group_id, slot, ctx.user_id, ctx.now())
    except SlotRefused as exc:
        await ctx.reply(ctx.render(T_FAIL, reason=str(exc)))
        return
    await ctx.audit("programme.add", slot.id, days=slot.days, time=slot.time)
    what = f"已添加节目「{slot.id}」：{' '.join(slot.days)} {slot.time}"
    await ctx.reply(ctx.render(T_DONE, what=what))


@router.command("删节目", help="删除聊天里添加的节目", usage="<节目>", **ADMIN)
async def remove(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    sid = ctx.command.words[0] if ctx.command.words else ""
    try:
        await remove_slot(ctx.repo(Ledger), ctx.feature(ProgrammeConfig), ctx.group_id, sid)
    except SlotRefused as exc:
        await ctx.reply(ctx.render(T_FAIL, reason=str(exc)))
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
