"""The dashboard's 自动回复 tab (``/admin/groups/{gid}/autoreply``): answers per rule and day,
and the group's keyword replies added from chat or the console, which an ``operator`` adds,
replaces and removes here.

Rules: the same checks and rows as ``/加回复``/``/删回复`` (``editing.py``); a refusal shows
the reason, keeps what was typed, and stores nothing. A change needs the form's anti-forgery
value and the role ``operator`` (a viewer's POST is refused before this runs); it is one
transaction with its audit row (``autoreply.add``/``autoreply.remove``, the staff member's
name), and this process answers with it from the group's next message (another instance
within ``chatrules.KEEP_S``). Rules from the config file are changed there. Everything shown
is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from aiohttp import web

from bot.web_public import (
    actor,
    bot_of,
    cards,
    checked_form,
    esc,
    form_guard,
    group_tabs,
    int_param,
    load_group,
    page,
    principal_of,
    record_change,
    table,
)
from handlers.autoreply.api import SOURCE_CN, rule_table
from handlers.autoreply.chatrules import KEPT, chat_entries
from handlers.autoreply.config import AutoreplyConfig
from handlers.autoreply.editing import MAX_REPLY, RuleRefused, drop_rule, put_rule
from handlers.autoreply.repo import Replies

PATH = "/admin/groups/{gid}/autoreply"
MATCH_CN = {"exact": "整句", "contains": "同时包含", "any": "包含"}
DONE = {"add": "已保存关键词回复", "remove": "已删除关键词回复"}


def _path(gid: str) -> str:
    return PATH.format(gid=quote(gid, safe=""))


def _remove_button(request: web.Request, gid: str, rid: str) -> str:
    return (
        f'<form method="post" action="{esc(_path(gid))}" style="display:inline">'
        f'{form_guard(request)}<input type="hidden" name="rule" value="{esc(rid)}">'
        f'<button name="do" value="remove" data-remove="{esc(rid)}">删除</button></form>'
    )


async def _editor(request: web.Request, gid: str, typed: Mapping[str, str]) -> str:
    """The group's chat/console rules and, for an operator, the forms that change them."""
    bot = bot_of(request)
    async with bot.db.read() as s:
        own = (await chat_entries(s, [gid]))[gid]
    who = principal_of(request)
    may = who is not None and who.may("operator")
    cap = bot.config.feature(AutoreplyConfig, gid).max_chat_rules
    rows = [
        (
            e.id,
            MATCH_CN.get(e.match, e.match),
            "、".join(e.keywords),
            e.reply,
            _remove_button(request, gid, e.id) if may else "",
        )
        for e in own
    ]
    out = f"<h2>本群添加的关键词回复（{len(own)}/{cap} 条；配置文件里的规则请在配置中修改）</h2>"
    out += table(
        ["编号", "匹配", "关键词", "回复", "操作"],
        rows,
        raw=(4,),
        wrap=(3,),
        attrs='data-table="chat-rules"',
        empty="还没有",
    )
    if not may:
        return out + '<p class="muted" data-readonly="1">只读账号不能修改。</p>'
    return out + (
        f'<form method="post" action="{esc(_path(gid))}" class="compose" data-form="add">'
        f"{form_guard(request)}"
        '<label for="spec">关键词（a|b 任一出现，a+b 同时出现，=a 整句等于 a）</label>'
        f'<input id="spec" name="spec" value="{esc(typed.get("spec", ""))}" required>'
        f'<label for="reply">回复内容（可用 {{name}} {{group}} {{date}} 等占位符）</label>'
        f'<textarea id="reply" name="reply" maxlength="{MAX_REPLY}" required>'
        f"{esc(typed.get('reply', ''))}</textarea>"
        '<p><button name="do" value="add">保存（同样的关键词会替换原回复）</button></p></form>'
    )


async def autoreply_page(
    request: web.Request,
    note: str = "",
    typed: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    bot = bot_of(request)
    gid, name = await load_group(request)
    days = int_param(request, "days", 14, 1, 60)
    dates, rows = await rule_table(bot, gid, days)
    today = sum(r.hits[-1] for r in rows)
    ai_today = sum(r.hits[-1] for r in rows if r.rule == "ai")
    head = cards(
        [
            ("规则", sum(1 for r in rows if r.source not in ("", "ai")), "rules"),
            ("今日回复", today, "today"),
            ("今日 AI 回复", ai_today, "ai_today"),
        ]
    )
    grid = table(
        ["规则", "来源", "关键词", *(f"{d:%m-%d}" for d in reversed(dates)), "合计"],
        [
            [
                r.rule,
                SOURCE_CN.get(r.source, r.source),
                "、".join(r.keywords[:5]),
                *reversed(r.hits),
                sum(r.hits),
            ]
            for r in rows
        ],
        numeric=tuple(range(3, 4 + len(dates))),
        attrs='data-table="autoreply"',
        empty="本群还没有关键词回复",
    )
    done = request.query.get("done", "")
    if not note and done in DONE:
        note = f'<p class="ok" data-done="{esc(done)}">{DONE[done]}</p>'
    body = (
        f"{group_tabs(request, gid, name)}{note}"
        f"<h2>自动回复（近 {days} 天，每条规则每天的回复数）</h2>{head}<br>{grid}"
        f"{await _editor(request, gid, typed or {})}"
    )
    return page(request, f"{name} 自动回复", body, status=status)


async def autoreply_post(request: web.Request) -> web.Response:
    bot = bot_of(request)
    form = await checked_form(request)
    gid, _name = await load_group(request)
    do = form.get("do", "")
    typed = {k: form.get(k, "") for k in ("spec", "reply")}
    now = bot.clock.now()
    try:
        async with bot.db.transaction() as s:
            replies = Replies(s)
            if do == "add":
                cfg = bot.config.feature(AutoreplyConfig, gid)
                spec, reply = typed["spec"].strip(), typed["reply"].replace("\r\n", "\n").strip()
                rid, match, words = await put_rule(
                    replies, cfg, gid, spec, reply, actor(request), now
                )
                detail = {"keywords": words, "match": match}
                record_change(s, request, "autoreply.add", f"#{rid}", group_id=gid, **detail)
            elif do == "remove":
                raw = form.get("rule", "").lstrip("#")
                if not raw.isdigit() or not await drop_rule(replies, gid, int(raw), ""):
                    raise RuleRefused("没有这条关键词回复（可能已被删除）")
                record_change(s, request, "autoreply.remove", f"#{raw}", group_id=gid)
            else:
                raise RuleRefused("未知操作")
    except RuleRefused as exc:
        note = f'<p class="bad" data-error="{esc(do)}">{esc(exc)}</p>'
        return await autoreply_page(request, note, typed, status=400)
    bot.services.state.need(KEPT).pop(gid, None)  # this process reads the group's rules again
    return web.Response(status=303, headers={"Location": f"{_path(gid)}?done={do}"})
