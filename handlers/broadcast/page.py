"""``/admin/broadcasts`` (群发): compose a broadcast, preview it group by group, send or
schedule it; below, the broadcasts so far.

Rules: the form goes through the same checks and the same code as ``POST /api/broadcasts``
(a refused form is shown again with the reason and nothing stored). It carries the
anti-forgery field (``form_guard``), and a one-time value that becomes the request's
``Idempotency-Key``, so a double click or a resent form makes one broadcast. The time field
is the bot's timezone. Everything shown is escaped.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot import group_tags, templates
from bot.web_public import bot_of, checked_form, esc, excerpt, form_guard, link, page, table, when
from handlers.broadcast import repo
from handlers.broadcast.api import preview, submit_broadcast
from handlers.broadcast.logic import MAX_IMAGE_URL, VARIABLES, BadInput

STATUS_CN = {
    "scheduled": "定时中",
    "queued": "已排队",
    "sending": "发送中",
    "done": "已完成",
    "cancelled": "已取消",
}
PATH = "/admin/broadcasts"
STYLE = (
    "<style>form.compose{background:#fff;padding:1rem;border-radius:8px;"
    "box-shadow:0 1px 2px #0001}form.compose textarea{width:100%;min-height:8rem;"
    "font:inherit;padding:.5rem}form.compose fieldset{border:0;padding:0;margin:0 0 .8rem}"
    "form.compose label{margin-right:1rem;display:inline-block}pre.text{white-space:pre-wrap;"
    "margin:0;font:inherit}form.compose input[name=image]{width:100%;box-sizing:border-box}"
    "p.image{margin:.3rem 0;overflow-wrap:anywhere}</style>"
)


def local_iso(raw: str, tz: ZoneInfo) -> str:
    """A ``datetime-local`` value (no offset) as ISO with the bot's offset; anything else as
    it came (the checks then name it)."""
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    return (at if at.tzinfo else at.replace(tzinfo=tz)).isoformat()


def form_data(form: Mapping[str, str], targets: list[str], tz: ZoneInfo) -> dict[str, Any]:
    """The API request the form stands for."""
    more = [g for g in re.split(r"[\s,，]+", form.get("groups", "")) if g]
    kind = "markdown" if form.get("format") == "markdown" else "text"
    data: dict[str, Any] = {"targets": targets + [f"group:{g}" for g in more]}
    image = form.get("image", "").strip()
    if image:
        data["image"] = image
    if form.get("text", "").strip() or not image:
        data[kind] = form.get("text", "")
    at = form.get("at", "").strip()
    if at:
        data["at"] = local_iso(at, tz)
    if form.get("official") == "1":
        data["official"] = True
    return data


def _box(name: str, value: str, label: str, chosen: set[str]) -> str:
    on = " checked" if value in chosen else ""
    return (
        f'<label><input type="checkbox" name="{name}" value="{esc(value)}"{on}> '
        f"{esc(label)}</label>"
    )


def compose(
    request: web.Request,
    form: Mapping[str, str],
    chosen: set[str],
    group_tags: Mapping[str, tuple[str, ...]],
) -> str:
    """The form, filled with what was sent last (if anything); ``group_tags``: the configured
    groups' effective tags."""
    config = bot_of(request).config
    tags: dict[str, int] = {}
    for g in config.groups:
        for t in group_tags.get(g.id, ()):
            tags[t] = tags.get(t, 0) + 1
    boxes = [_box("target", "all", "全部群", chosen)]
    boxes += [_box("target", f"tag:{t}", f"标签 {t}（{n} 个群）", chosen) for t, n in tags.items()]
    groups = [_box("target", f"group:{g.id}", g.name or g.id, chosen) for g in config.groups]
    md = form.get("format") == "markdown"
    names = " ".join("{" + v + "}" for v in VARIABLES)
    return (
        f'<form class="compose" method="post" action="{PATH}">{form_guard(request)}'
        f'<input type="hidden" name="nonce" value="{uuid.uuid4().hex}">'
        f"<fieldset><legend>发给</legend>{''.join(boxes)}</fieldset>"
        f"<fieldset><legend>或这些群</legend>{''.join(groups)}"
        '<label>其他群 ID（空格或逗号分隔）<input name="groups" '
        f'value="{esc(form.get("groups", ""))}"></label></fieldset>'
        '<fieldset><legend>格式</legend><label><input type="radio" name="format" value="text"'
        f'{"" if md else " checked"}> 文本</label><label><input type="radio" name="format" '
        f'value="markdown"{" checked" if md else ""}> Markdown</label></fieldset>'
        f'<label for="text">内容（可用 {esc(names)}）</label>'
        f'<textarea id="text" name="text" maxlength="{templates.MAX_OUTPUT}">'
        f"{esc(form.get('text', ''))}</textarea>"
        f'<p><label>图片链接（https，可选；有内容时作为配图说明先发）<input name="image" '
        f'type="url" maxlength="{MAX_IMAGE_URL}" '
        f'value="{esc(form.get("image", ""))}"></label></p>'
        '<p><label><input type="checkbox" name="official" value="1"'
        f"{' checked' if form.get('official') == '1' else ''}> 企业群发（没有机器人的客户群由群主"
        "确认发送，每群每月有上限；不勾选则提醒群主手动发）</label></p>"
        f'<p><label>定时（{esc(config.bot.timezone)}，留空为立即）<input type="datetime-local" '
        f'name="at" value="{esc(form.get("at", ""))}"></label></p>'
        '<button type="submit" name="do" value="preview">预览</button> '
        '<button type="submit" name="do" value="send">发送</button></form>'
    )


async def recent(request: web.Request) -> str:
    """The newest broadcasts, each linked to its report."""
    bot = bot_of(request)
    async with bot.db.read() as s:
        rows = await repo.listing(s, 50, None)
    out = [
        (
            link(f"{PATH}/{b['id']}", f"#{b['id']}"),
            when(datetime.fromisoformat(b["created_at"]), request),
            when(datetime.fromisoformat(b["at"]), request) if b["at"] else "立即",
            "、".join(b["targets"]),
            excerpt(b["text"] or ("[图片] " + b["image"]), 60),
            b["groups"],
            STATUS_CN.get(b["status"], b["status"]),
        )
        for b in rows
    ]
    head = ["编号", "创建", "发送时间", "发给", "内容", "群数", "状态"]
    return table(head, out, raw=(0,), numeric=(5,), wrap=(4,), attrs='data-table="broadcasts"')


async def show(
    request: web.Request,
    form: Mapping[str, str] | None = None,
    chosen: set[str] | None = None,
    extra: str = "",
    status: int = 200,
) -> web.Response:
    bot = bot_of(request)
    async with bot.db.read() as s:
        tags = await group_tags(s, bot.config, [g.id for g in bot.config.groups])
    body = (
        f"{STYLE}<h1>群发</h1>{extra}{compose(request, form or {}, chosen or set(), tags)}"
        f"<h2>最近的群发</h2>{await recent(request)}"
    )
    return page(request, "群发", body, status=status)


async def broadcasts_page(request: web.Request) -> web.Response:
    return await show(request)


def shown_image(url: str) -> str:
    """The image as a link (the browser may show it; the server never fetches it)."""
    return f'<p class="image">🖼 <a href="{esc(url)}" rel="noreferrer noopener">{esc(url)}</a></p>'


def previewed(lines: list[dict[str, str]]) -> str:
    rows = [
        (
            ln["group_id"],
            ln["name"] or "-",
            (f'<pre class="text">{esc(ln["text"])}</pre>' if ln["text"] else "")
            + (shown_image(ln["image"]) if ln.get("image") else "")
            if "text" in ln
            else f'<span class="bad">无法发送：{esc(ln["error"])}</span>',
        )
        for ln in lines
    ]
    grid = table(["群", "群名", "内容"], rows, raw=(2,), wrap=(2,), attrs='data-table="preview"')
    return f"<h2>预览（{len(lines)} 个群）</h2>{grid}<br>"


async def compose_post(request: web.Request) -> web.Response:
    """Preview or send the composed broadcast."""
    bot = bot_of(request)
    raw = await checked_form(request)
    chosen = set(raw.getall("target", []))
    names = ("groups", "format", "text", "image", "official", "at", "nonce", "do")
    form = {k: raw.get(k, "") for k in names}
    data = form_data(form, sorted(chosen), bot.config.timezone())
    try:
        if form["do"] == "send":
            nonce = form["nonce"] if re.fullmatch(r"[0-9a-f]{32}", form["nonce"]) else None
            key = f"form:{nonce}" if nonce else None
            bid, _n = await submit_broadcast(request, data, key)
            return web.Response(status=303, headers={"Location": f"{PATH}/{bid}"})
        lines = await preview(request, data)
    except (BadInput, repo.Conflict) as exc:
        note = f'<p class="bad" data-error="{esc(getattr(exc, "field", ""))}">{esc(exc)}</p>'
        return await show(request, form, chosen, note, status=400)
    return await show(request, form, chosen, previewed(lines))
