"""``/admin/rules`` (群规与违禁词): one group's rules text and banned words, edited from the
console.

Rules: the new values are checked exactly as the config is (``overrides.checked``); a
refusal shows the field's key path and the reason, keeps what was typed, and stores nothing.
Saving needs the role ``operator`` (the console refuses a viewer's POST before this runs) and
the form's anti-forgery value, and writes the two settings and one audit row with the staff
member's name in one transaction. "恢复配置" drops the group's overrides (the rules text
set with ``/设置规则`` too). Banned words are one per line. Everything shown is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from aiohttp import web

from bot.web_public import actor, bot_of, checked_form, esc, form_guard, page, record_change
from handlers.rules.config import RulesConfig
from handlers.rules.overrides import (
    BANNED,
    MAX_TEXT,
    TEXT,
    RulesOverrides,
    RulesRefused,
    checked,
)

PATH = "/admin/rules"
OFF = "本群的违禁词检查已关闭（[rules.banned] enabled = false），保存的违禁词暂不生效。"
DONE = {"save": "已保存，本群下一条消息起生效。", "reset": "已恢复配置文件的群规和违禁词。"}


def _known(request: web.Request, gid: str) -> bool:
    return bot_of(request).config.group(gid) is not None


def _picker(request: web.Request, gid: str) -> str:
    options = "".join(
        f'<option value="{esc(g.id)}"{" selected" if g.id == gid else ""}>'
        f"{esc(g.name or g.id)}</option>"
        for g in bot_of(request).config.groups
    )
    return (
        f'<form method="get" action="{PATH}"><label>群 <select name="group">{options}</select>'
        "</label> <button>切换</button></form>"
    )


async def show(
    request: web.Request,
    gid: str,
    *,
    note: str = "",
    typed: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """The page for group ``gid`` (``typed``: what a refused form held, shown again)."""
    bot = bot_of(request)
    body = f"<h1>群规与违禁词</h1>{_picker(request, gid)}{note}"
    if not _known(request, gid):
        body += '<p class="bad">没有这个群。</p>'
        return page(request, "群规与违禁词", body, status=404 if status == 200 else status)
    cfg = bot.config.feature(RulesConfig, gid)
    async with bot.db.read() as s:
        now = await RulesOverrides(s).current(gid)
    text = str(now.get(TEXT, cfg.text))
    words = [str(w) for w in now.get(BANNED, cfg.banned_words)]
    if typed is not None:
        text, words = typed.get("text", ""), typed.get("banned_words", "").splitlines()
    source = "控制台/聊天修改" if now else "配置文件"
    off = "" if cfg.banned.enabled else f'<p class="warn">{OFF}</p>'
    hidden = f'{form_guard(request)}<input type="hidden" name="group" value="{esc(gid)}">'
    body += (
        f'<p class="muted" data-source="{"db" if now else "config"}">当前来自：{source}</p>{off}'
        f'<form method="post" action="{PATH}" class="compose" data-form="rules">{hidden}'
        f'<label for="text">群规（/规则 显示的内容）</label><textarea id="text" name="text" '
        f'maxlength="{MAX_TEXT}">{esc(text)}</textarea>'
        '<label for="banned_words">违禁词（每行一个；* 代表几个字）</label>'
        f'<textarea id="banned_words" name="banned_words">{esc(chr(10).join(words))}</textarea>'
        '<p><button name="do" value="save">保存</button></p></form>'
    )
    if now:
        body += (
            f'<form method="post" action="{PATH}">{hidden}'
            '<button name="do" value="reset" data-do="reset">恢复配置文件的群规和违禁词</button>'
            "</form>"
        )
    return page(request, "群规与违禁词", body, status=status)


async def rules_edit_page(request: web.Request) -> web.Response:
    groups = bot_of(request).config.groups
    gid = request.query.get("group", groups[0].id if groups else "")
    done = request.query.get("done", "")
    note = f'<p class="ok" data-done="{esc(done)}">{DONE[done]}</p>' if done in DONE else ""
    return await show(request, gid, note=note)


async def rules_edit_post(request: web.Request) -> web.Response:
    bot = bot_of(request)
    form = await checked_form(request)
    gid, do = form.get("group", ""), form.get("do", "save")
    if not _known(request, gid) or do not in DONE:
        return await show(request, gid, note='<p class="bad">未知操作</p>', status=400)
    text = form.get("text", "").replace("\r\n", "\n").strip()
    words = [w.strip() for w in form.get("banned_words", "").splitlines() if w.strip()]
    if do == "save":
        try:
            checked(bot.config.feature(RulesConfig, gid), text, words)
        except RulesRefused as exc:
            note = f'<p class="bad" data-error="{esc(exc.field)}">{esc(exc)}</p>'
            typed = {k: form.get(k, "") for k in ("text", "banned_words")}
            return await show(request, gid, note=note, typed=typed, status=400)
    now, who = bot.clock.now(), actor(request)
    async with bot.db.transaction() as s:
        repo = RulesOverrides(s)
        if do == "reset":
            dropped = await repo.clear(gid)
            record_change(s, request, "rules.reset", gid, group_id=gid, dropped=dropped)
        else:
            await repo.save(gid, TEXT, text, who, now)
            await repo.save(gid, BANNED, words, who, now)
            record_change(
                s,
                request,
                "rules.edit",
                gid,
                group_id=gid,
                text_length=len(text),
                banned_words=len(words),
            )
    query = urlencode({"group": gid, "done": do})
    return web.Response(status=303, headers={"Location": f"{PATH}?{query}"})
