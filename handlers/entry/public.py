"""``GET /j/{campaign}``: the public 活码 page (no token) a newcomer opens on a phone.

Rules:
- It shows the QR (or link) of the group ``logic.choose`` picks — never a full group's — and
  counts the visit for that group and local day (``repo.count_visit``; a visit that found
  nothing to show counts under the group ``""``). Only GET counts (not HEAD).
- A campaign backed by a WeCom 加入群聊 code shows that code's QR once it is ready (WeCom
  sends each newcomer to a group with room and opens a new group when all are full); its
  visits count under the group ``"wecom"``.
- Nothing to show: the campaign's ``full_message`` (or the ``entry.full_page`` template) and
  an alert for admins, once per window (``logic.alert``).
- Hardening: an unknown campaign is a 404 whose body is the same for every name (nothing
  tells which campaigns exist); no group id is shown, only the group's display name;
  operator text is escaped; ``Cache-Control: no-store`` (the group changes as groups fill),
  a strict Content-Security-Policy (no script at all, images only inline or over https),
  ``nosniff``, no referrer, not to be indexed or framed.
"""

from __future__ import annotations

import base64

from aiohttp import web

from bot import templates
from bot.web_public import bot_of, esc
from handlers.entry import repo
from handlers.entry.config import campaign
from handlers.entry.logic import alert, choose

T_SCAN = templates.register("entry.scan", "长按识别二维码，加入「{group}」", "title", "group")
T_LINK = templates.register("entry.link", "点击加入「{group}」", "title", "group")
T_FULL = templates.register(
    "entry.full_page", "当前的群都已满员，我们正在准备新群，请稍后再来看看 🙏", "title"
)
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": (
        "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}
CSS = (
    "body{margin:0;font:16px/1.5 -apple-system,'PingFang SC','Microsoft YaHei',sans-serif;"
    "background:#f4f5f7;color:#222}main{max-width:28rem;margin:0 auto;padding:1.5rem 1rem;"
    "text-align:center}h1{font-size:1.3rem}img{width:100%;max-width:20rem;height:auto;"
    "background:#fff;border-radius:8px}p{margin:1rem 0}a.btn{display:inline-block;"
    "padding:.8rem 1.6rem;background:#07c160;color:#fff;border-radius:8px;"
    "text-decoration:none}"
)


def _page(title: str, body: str, status: int = 200) -> web.Response:
    doc = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return web.Response(
        text=doc, status=status, content_type="text/html", charset="utf-8", headers=HEADERS
    )


def not_found() -> web.Response:
    return _page("页面不存在", "<h1>页面不存在</h1><p>链接可能已失效。</p>", status=404)


async def entry_page(request: web.Request) -> web.Response:
    bot = bot_of(request)
    c = campaign(bot.config, request.match_info.get("campaign", ""))
    if c is None:
        return not_found()
    now = bot.clock.now()
    if c.wecom is not None:
        async with bot.db.read() as s:
            code = await repo.wecom_qr(s, c.id)
        if code:  # WeCom's own code sends each newcomer to a group with room, or opens one
            if request.method == "GET":
                day = now.astimezone(bot.config.timezone(None)).date()
                async with bot.db.transaction() as s:
                    await repo.count_visit(s, c.id, repo.WECOM, day, now)
            hint = templates.render(bot.config, T_SCAN, c.groups[0], title=c.title, group=c.title)
            body = f'<img src="{esc(code)}" alt="群二维码"><p>{esc(hint)}</p>'
            return _page(c.title, f"<h1>{esc(c.title)}</h1>{body}")
    async with bot.db.read() as s:
        choice = await choose(s, bot.config, c, now)
        names = await repo.group_names(s, bot.config, [choice.group_id or ""])
    if request.method == "GET":
        day = now.astimezone(bot.config.timezone(None)).date()
        async with bot.db.transaction() as s:
            await repo.count_visit(s, c.id, choice.group_id or "", day, now)
    first = c.groups[0]
    if choice.group_id is None or choice.qr is None:
        if request.method == "GET":
            await alert(bot, c, choice.reason, now)
        text = (
            templates.fill(c.full_message, {"title": c.title})
            if c.full_message
            else templates.render(bot.config, T_FULL, first, title=c.title)
        )
        return _page(c.title, f"<h1>{esc(c.title)}</h1><p>{esc(text)}</p>")
    qr, gname = choice.qr, names[choice.group_id]
    if qr.kind == "image" and qr.image:
        src = f"data:{qr.mime};base64,{base64.b64encode(qr.image).decode()}"
        hint = templates.render(bot.config, T_SCAN, choice.group_id, title=c.title, group=gname)
        body = f'<img src="{esc(src)}" alt="群二维码"><p>{esc(hint)}</p>'
    else:
        hint = templates.render(bot.config, T_LINK, choice.group_id, title=c.title, group=gname)
        body = f'<p><a class="btn" href="{esc(qr.link)}" rel="noreferrer">{esc(hint)}</a></p>'
    return _page(c.title, f"<h1>{esc(c.title)}</h1>{body}")
