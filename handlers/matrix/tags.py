"""Group tags from the console and the API: ``GET/PUT /api/groups/{gid}/tags`` and the group
page's 标签 tab (``/admin/groups/{gid}/tags``).

Rules: the configured ``[[groups]].tags`` are fixed by the file and always kept; what is set
here are the group's other tags (``bot.set_group_tags`` checks and stores them, replacing what
was there). ``PUT`` takes ``{"tags": [...]}``; the form takes them separated by spaces or
commas. An unknown group is a 404; a bad tag a 400 naming it, nothing changed; the form is
refused (403) without its anti-forgery field, and needs a console user's ``operator`` role
(the dashboard's guard). Every change is in the audit log (``group_tags``, through
``record_change``: the staff member's name, ``token`` or ``api``) with the tags before and
after. Broadcasts,
the programme and the matrix use the new tags at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot import Bot, TagError, group_tags, set_group_tags
from bot.web_public import (
    bot_of,
    checked_form,
    esc,
    form_guard,
    group_tabs,
    json_body,
    load_group,
    not_found,
    page,
    record_change,
)
from storage.models import Group

PAGE = "/admin/groups/{gid}/tags"


async def _known(bot: Bot, gid: str) -> None:
    if bot.config.group(gid) is None:
        async with bot.db.read() as s:
            if await s.get(Group, gid) is None:
                raise not_found(f"unknown group {gid}")


async def view(bot: Bot, gid: str) -> dict[str, Any]:
    configured = list(g.tags) if (g := bot.config.group(gid)) is not None else []
    async with bot.db.read() as s:
        tags = list((await group_tags(s, bot.config, [gid]))[gid])
    return {
        "group_id": gid,
        "tags": tags,
        "config_tags": configured,
        "stored_tags": [t for t in tags if t not in configured],
    }


async def change(request: web.Request, gid: str, tags: Sequence[object]) -> None:
    """Store ``gid``'s tags and the audit row in one transaction (TagError: nothing)."""
    bot = bot_of(request)
    async with bot.db.transaction() as s:
        before = list((await group_tags(s, bot.config, [gid]))[gid])
        after = list(await set_group_tags(s, bot.config, gid, tags, bot.clock.now()))
        record_change(s, request, "group_tags", gid, group_id=gid, before=before, after=after)


def refused(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": reason}, ensure_ascii=False), content_type="application/json"
    )


async def get_tags(request: web.Request) -> web.Response:
    bot, gid = bot_of(request), request.match_info["gid"]
    await _known(bot, gid)
    return web.json_response(await view(bot, gid))


async def put_tags(request: web.Request) -> web.Response:
    bot, gid = bot_of(request), request.match_info["gid"]
    await _known(bot, gid)
    data = await json_body(request)
    tags = data.get("tags")
    if not isinstance(tags, list):
        raise refused("tags: a list of tags is required")
    try:
        await change(request, gid, tags)
    except TagError as e:
        raise refused(str(e)) from None
    return web.json_response(await view(bot, gid))


async def tags_page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    bot = bot_of(request)
    gid, name = await load_group(request)
    v = await view(bot, gid)
    fixed = "、".join(v["config_tags"]) or "无"
    note = f'<p class="bad" data-error="tags">{esc(error)}</p>' if error else ""
    saved = '<p class="ok" data-saved="1">已保存</p>' if request.query.get("saved") else ""
    body = (
        f"{group_tabs(request, gid, name)}<h2>标签</h2>{note}{saved}"
        f'<p>当前标签：<b data-tags="{esc(" ".join(v["tags"]))}">'
        f"{esc('、'.join(v['tags']) or '无')}</b></p>"
        f'<p class="muted">配置文件中的标签（在此不能删除）：{esc(fixed)}</p>'
        f'<form method="post" action="{esc(PAGE.format(gid=quote(gid, safe="")))}">'
        f"{form_guard(request)}"
        '<label>其他标签（空格或逗号分隔）<input name="tags" size="40" '
        f'value="{esc(" ".join(v["stored_tags"]))}"></label> '
        '<button type="submit">保存</button></form>'
        '<p class="muted">群发的 tag: 目标、节目表的 tag: 目标和群矩阵都按这些标签选群。</p>'
    )
    return page(request, f"{name} · 标签", body, status=status)


async def tags_post(request: web.Request) -> web.Response:
    gid, _name = await load_group(request)
    form = await checked_form(request)
    tags = [t for t in re.split(r"[\s,，]+", form.get("tags", "")) if t]
    try:
        await change(request, gid, tags)
    except TagError as e:
        return await tags_page(request, str(e), status=400)
    where = PAGE.format(gid=quote(gid, safe="")) + "?saved=1"
    return web.Response(status=303, headers={"Location": where})


def setup_tags(app: web.Application) -> None:
    app.router.add_get("/api/groups/{gid}/tags", get_tags)
    app.router.add_put("/api/groups/{gid}/tags", put_tags)
    app.router.add_post(PAGE, tags_post)
