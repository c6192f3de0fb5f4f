"""``/admin/programme`` (节目编辑): the programme slots of a group or of every group with a
tag, edited from the console — add, remove, pause, resume — and the week preview after it.

Rules: the same checks and rows as ``/加节目`` and its siblings (``editing.py``); a change to
a tag applies to each of its groups in one transaction, and one group's refusal (quiet hours,
a taken id) refuses it for all with the reason shown and nothing stored. Changing needs the
role ``operator`` (the console refuses a viewer's POST before this runs) and the form's
anti-forgery value; every change is one audit row per group with the staff member's name.
After a change the browser is sent back to the page (``?done=``), which shows the slots in
force and the week with each occurrence's status. Everything shown is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.web_public import (
    actor,
    bot_of,
    checked_form,
    esc,
    form_guard,
    page,
    record_change,
    table,
    when,
)
from handlers.programme.config import ProgrammeConfig, group_views
from handlers.programme.editing import SlotRefused, add_slot, build_slot, remove_slot, slot_in
from handlers.programme.repo import Ledger
from handlers.programme.table import STATUS_CN, monday_of
from schedules.due import targets

PATH = "/admin/programme"
DONE_CN = {"add": "已添加", "remove": "已删除", "pause": "已暂停", "resume": "已恢复"}
FIELDS = ("days", "time", "theme", "content")


def target_groups(request: web.Request, target: str) -> list[str]:
    """The configured groups a target names (``group:<id>`` or ``tag:<tag>``); [] if none."""
    groups = bot_of(request).config.groups
    kind, _, name = target.partition(":")
    if kind == "group":
        return [g.id for g in groups if g.id == name]
    if kind == "tag":
        return [g.id for g in groups if name in g.tags]
    return []


def _targets(request: web.Request) -> list[tuple[str, str]]:
    groups = bot_of(request).config.groups
    tags = sorted({t for g in groups for t in g.tags})
    return [(f"group:{g.id}", f"群 {g.name or g.id}") for g in groups] + [
        (f"tag:{t}", f"标签 {t}") for t in tags
    ]


def _picker(request: web.Request, target: str) -> str:
    options = "".join(
        f'<option value="{esc(v)}"{" selected" if v == target else ""}>{esc(label)}</option>'
        for v, label in _targets(request)
    )
    return (
        f'<form method="get" action="{PATH}"><label>编辑 <select name="target">{options}'
        "</select></label> <button>切换</button></form>"
    )


def _button(request: web.Request, target: str, do: str, sid: str, label: str) -> str:
    return (
        f'<form method="post" action="{PATH}" style="display:inline">{form_guard(request)}'
        f'<input type="hidden" name="target" value="{esc(target)}">'
        f'<input type="hidden" name="slot" value="{esc(sid)}">'
        f'<button name="do" value="{do}" data-do="{do}" data-slot="{esc(sid)}">{label}</button>'
        "</form>"
    )


async def _slots(request: web.Request, s: AsyncSession, target: str, gids: list[str]) -> str:
    config = bot_of(request).config
    ov = await Ledger(s).overrides()
    views = {v.id: v for v in group_views(config)}
    rows = []
    for gid in gids:
        cfg = config.feature(ProgrammeConfig, gid)
        paused = ov.paused.get(gid, set())
        own = [(x, "配置") for x in cfg.slots if targets(x, views[gid])]
        for slot, source in own + [(x, "控制台/聊天") for x in ov.custom.get(gid, [])]:
            off = slot.id in paused
            acts = _button(
                request, target, "resume" if off else "pause", slot.id, "恢复" if off else "暂停"
            )
            if source != "配置":
                acts += " " + _button(request, target, "remove", slot.id, "删除")
            state = '<span class="warn">已暂停</span>' if off else '<span class="ok">生效</span>'
            rows.append(
                (
                    gid,
                    slot.id,
                    "、".join(slot.days),
                    slot.time,
                    source,
                    state,
                    esc(slot.content[:80]),
                    acts,
                )
            )
    head = ["群", "节目", "日子", "时间", "来源", "状态", "内容", "操作"]
    return table(head, rows, raw=(5, 6, 7), wrap=(6,), attrs='data-table="slots"')


async def _week(request: web.Request, s: AsyncSession, gids: list[str]) -> str:
    bot = bot_of(request)
    now = bot.clock.now()
    rows = []
    for gid in gids:
        monday = monday_of(now.astimezone(bot.config.timezone(gid)).date())
        for occ, status in await Ledger(s).week(bot.config, gid, monday, now):
            badge = f'<span data-status="{status}">{STATUS_CN[status]}</span>'
            rows.append((when(occ.at, request, gid), gid, occ.slot.theme or occ.slot.id, badge))
    head = ["时间", "群", "节目", "状态"]
    return table(head, rows, raw=(3,), attrs='data-table="week"', empty="本周没有节目")


def _add_form(request: web.Request, target: str, form: Mapping[str, str]) -> str:
    def field(name: str, label: str, hint: str) -> str:
        return (
            f'<label>{label} <input name="{name}" value="{esc(form.get(name, ""))}" '
            f'placeholder="{esc(hint)}" required></label> '
        )

    return (
        f'<form method="post" action="{PATH}" class="compose" data-form="add">'
        f'{form_guard(request)}<input type="hidden" name="target" value="{esc(target)}">'
        + field("days", "日子", "周三 或 周一,周四 或 每天")
        + field("time", "时间", "10:00")
        + field("theme", "主题", "早安")
        + '<label>内容 <textarea name="content" required>'
        f"{esc(form.get('content', ''))}</textarea></label> "
        '<button name="do" value="add">添加节目</button></form>'
    )


async def show(
    request: web.Request,
    target: str,
    *,
    note: str = "",
    form: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    gids = target_groups(request, target)
    body = f"<h1>节目编辑</h1>{_picker(request, target)}{note}"
    if not gids:
        body += '<p class="bad">没有这个群或标签。</p>'
        return page(request, "节目编辑", body, status=404 if status == 200 else status)
    async with bot_of(request).db.read() as s:
        slots, preview = await _slots(request, s, target, gids), await _week(request, s, gids)
    body += (
        f"<h2>节目（{len(gids)} 个群）</h2>{slots}<h2>添加节目</h2>"
        f"{_add_form(request, target, form or {})}<h2>本周预览</h2>{preview}"
    )
    return page(request, "节目编辑", body, status=status)


async def programme_edit_page(request: web.Request) -> web.Response:
    groups = bot_of(request).config.groups
    target = request.query.get("target", f"group:{groups[0].id}" if groups else "")
    done, sid = request.query.get("done", ""), request.query.get("slot", "")
    note = (
        f'<p class="ok" data-done="{esc(done)}">{DONE_CN[done]}节目「{esc(sid)}」</p>'
        if done in DONE_CN
        else ""
    )
    return await show(request, target, note=note)


async def _apply(request: web.Request, do: str, gids: list[str], form: Mapping[str, str]) -> str:
    """Make the change for every group in one transaction; the slot id. SlotRefused else."""
    bot = bot_of(request)
    now, who = bot.clock.now(), actor(request)
    sid = form.get("slot", "").strip()
    async with bot.db.transaction() as s:
        for gid in gids:
            try:
                sid = await _apply_one(request, s, do, gid, sid, form, now, who)
            except SlotRefused as exc:
                raise SlotRefused(f"群 {gid}：{exc}" if len(gids) > 1 else str(exc)) from None
    return sid


async def _apply_one(
    request: web.Request,
    s: AsyncSession,
    do: str,
    gid: str,
    sid: str,
    form: Mapping[str, str],
    now: datetime,
    who: str,
) -> str:
    """One group's part of the change; its slot id."""
    cfg = bot_of(request).config.feature(ProgrammeConfig, gid)
    if do == "add":
        days, at, theme, content = (form.get(k, "").strip() for k in FIELDS)
        slot = build_slot(cfg, gid, days, at, theme, content)
        await add_slot(Ledger(s), gid, slot, who, now)
        record_change(
            s, request, "programme.add", slot.id, group_id=gid, days=slot.days, time=slot.time
        )
        return slot.id
    if do == "remove":
        await remove_slot(Ledger(s), cfg, gid, sid)
    elif await slot_in(Ledger(s), cfg, gid, sid) is None:
        raise SlotRefused(f"群 {gid} 没有节目「{sid}」")
    elif do == "pause":
        await Ledger(s).pause(gid, sid, who, now)
    else:
        await Ledger(s).resume(gid, sid)
    record_change(s, request, f"programme.{do}", sid, group_id=gid)
    return sid


async def programme_edit_post(request: web.Request) -> web.Response:
    raw = await checked_form(request)
    form = {k: raw.get(k, "") for k in ("target", "do", "slot", *FIELDS)}
    target, do = form["target"], form["do"]
    gids = target_groups(request, target)
    if not gids or do not in DONE_CN:
        return await show(request, target, status=400)
    try:
        sid = await _apply(request, do, gids, form)
    except SlotRefused as exc:
        note = f'<p class="bad" data-error="{esc(do)}">{esc(exc)}</p>'
        return await show(request, target, note=note, form=form, status=400)
    query = urlencode({"target": target, "done": do, "slot": sid})
    return web.Response(status=303, headers={"Location": f"{PATH}?{query}"})
