"""``/admin/entry`` (活码): every campaign with its groups in order — members, capacity, the
QR and when it expires, the last 7 days' visits and joins — and forms to upload a group's
QR image or link, or remove it.

Rules: forms carry the anti-forgery field (``form_guard``) and go through the same checks as
the API (``qr`` module rules); a refused upload shows the reason and changes nothing.
Times are shown in the bot's timezone; QRs that expire within a day are marked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.web_public import bot_of, checked_form, esc, form_guard, page, record_change, table
from handlers.entry import qr as qrs
from handlers.entry.api import overview
from handlers.entry.config import campaign, campaigns

PATH = "/admin/entry"


def _when(bot: Any, iso: str | None) -> str:
    if not iso:
        return "不过期"
    at = datetime.fromisoformat(iso).astimezone(bot.config.timezone(None))
    return at.strftime("%Y-%m-%d %H:%M")


def _qr_cell(bot: Any, g: dict[str, Any]) -> str:
    q = g["qr"]
    if q is None:
        return '<span class="bad">未上传</span>'
    what = "图片" if q["kind"] == "image" else f"链接 {esc(q['link'])}"
    state = (
        '<span class="bad">已过期</span>'
        if not q["usable"]
        else '<span class="bad">即将过期</span>'
        if q["expires_soon"]
        else "有效"
    )
    up, until = _when(bot, q["uploaded_at"]), _when(bot, q["expires_at"])
    return f"{what}<br>上传 {esc(up)}，过期 {esc(until)}（{state}）"


def _forms(request: web.Request, cid: str, gid: str) -> str:
    act = esc(f"{PATH}/{cid}/{gid}/qr")
    guard = form_guard(request)
    return (
        f'<form method="post" action="{act}" enctype="multipart/form-data">{guard}'
        '<input type="file" name="image" accept="image/png,image/jpeg"> '
        '<button name="do" value="image">上传图片</button></form>'
        f'<form method="post" action="{act}">{guard}'
        '<input name="link" placeholder="https://…" size="28"> '
        '<input name="expires_days" value="0" size="3" title="有效天数，0 为不过期"> '
        '<button name="do" value="link">保存链接</button> '
        '<button name="do" value="delete">删除</button></form>'
    )


async def show(request: web.Request, notice: str = "", status: int = 200) -> web.Response:
    bot = bot_of(request)
    parts = [f'<p class="bad" data-notice>{esc(notice)}</p>' if notice else ""]
    if not campaigns(bot.config):
        parts.append("<p>还没有活码。在配置文件里加 <code>[[entry]]</code>，见 docs/entry.md。</p>")
    for c in campaigns(bot.config):
        o = await overview(bot, c)
        state = {"ok": "正常", "full": "全部满员", "no_qr": "有空位的群没有可用二维码"}[o["state"]]
        parts.append(
            f'<h2 data-campaign="{esc(c.id)}">{esc(c.title)} · '
            f'<a href="{esc(o["page"])}">{esc(o["page"])}</a></h2>'
            f"<p>状态：{esc(state)}；近 7 天满员访问 {o['visits_full_7d']} 次</p>"
        )
        if o["wecom"] is not None:
            w = o["wecom"]
            img = (
                f'<br><img src="{esc(w["qr_code"])}" width="160" alt="加入群聊二维码">'
                if w["qr_code"]
                else ""
            )
            parts.append(
                f"<p data-wecom>企业微信加入群聊：config_id {esc(w['config_id'] or '（创建中）')}，"
                f"状态 {esc(w['status'])} {esc(w['last_error'])}{img}</p>"
            )
        rows = []
        for g in o["groups"]:
            mark = "（当前展示）" if g["id"] == o["showing"] else ""
            rows.append(
                (
                    f"{g['name']}{mark}",
                    g["id"],
                    f"{g['members']}/{g['capacity']}" + ("（满）" if g["full"] else ""),
                    _qr_cell(bot, g),
                    g["visits_7d"],
                    g["joins_7d"],
                    "企业微信新开的群" if g["opened_by_wecom"] else _forms(request, c.id, g["id"]),
                )
            )
        parts.append(
            table(
                ["群", "群 ID", "人数", "二维码", "近7天访问", "近7天入群", "操作"],
                rows,
                numeric=(4, 5),
                raw=(3, 6),
                attrs=f'data-table="entry-{esc(c.id)}"',
            )
        )
    return page(request, "活码", "<h1>活码</h1>" + "".join(parts), status=status)


async def entry_admin_page(request: web.Request) -> web.Response:
    return await show(request)


async def qr_post(request: web.Request) -> web.Response:
    """Upload, link or delete one group's QR from the page's forms."""
    bot = bot_of(request)
    form = await checked_form(request)
    c = campaign(bot.config, request.match_info["campaign"])
    gid = request.match_info["group"]
    if c is None or gid not in c.groups:
        return await show(request, "没有这个活码或群 / no such campaign or group", 404)
    try:
        async with bot.db.transaction() as s:
            if form.get("do") == "delete":
                if await qrs.remove(s, c.id, gid):
                    record_change(s, request, "entry.qr_delete", c.id, group_id=gid)
            elif form.get("do") == "link":
                raw = form.get("expires_days", "0").strip() or "0"
                if not raw.isdigit():
                    raise qrs.BadQr("有效天数须是整数 / expires_days must be a whole number")
                row = await qrs.save(
                    s, c.id, gid, bot.clock.now(), link=form.get("link", ""), expires_days=int(raw)
                )
                qrs.audit(s, request, row)
            else:
                upload = (await request.post()).get("image")
                data = b""
                if isinstance(upload, web.FileField):
                    data = upload.file.read(qrs.MAX_IMAGE_BYTES + 1)
                qrs.audit(s, request, await qrs.save(s, c.id, gid, bot.clock.now(), image=data))
    except qrs.BadQr as exc:
        return await show(request, str(exc), 400)
    raise web.HTTPSeeOther(PATH)
