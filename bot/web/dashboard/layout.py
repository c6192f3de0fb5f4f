"""The dashboard's HTML shell: one stylesheet, a navigation bar, tables and number cards.

Rules: every piece of text that came from members, operators or platforms goes through
``esc`` (``html.escape`` with quotes), so a member called ``<script>`` is shown, never run.
Pages carry no script at all, and the Content-Security-Policy forbids any. The layout is a
single column on a phone (viewport meta, tables scroll sideways).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.web.api import not_found
from bot.web.ingest import BOT
from bot.web.staff import ROLE_CN, principal_of
from storage.models import Group

# (href, label) of the top bar and of each group's tab row; filled from the features' pages
NAV = web.AppKey("dashboard_nav", list[tuple[str, str]])
TABS = web.AppKey("dashboard_tabs", list[tuple[str, str]])

CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 -apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",
"WenQuanYi Zen Hei",sans-serif;background:#f5f6f8;color:#1f2328}
header{background:#1f6feb;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;
align-items:center}
header a{color:#fff;text-decoration:none;opacity:.9}
header a:hover{opacity:1;text-decoration:underline}
header strong{margin-right:auto;font-size:1.05rem}
main{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;margin:.3rem 0 1rem}h2{font-size:1.1rem;margin:1.6rem 0 .6rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:.6rem}
.card{background:#fff;border-radius:8px;padding:.6rem .8rem;box-shadow:0 1px 2px #0001}
.card b{display:block;font-size:1.5rem}.card span{color:#59636e;font-size:.85rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));gap:.8rem}
figure.chart{background:#fff;border-radius:8px;margin:0;padding:.6rem;box-shadow:0 1px 2px #0001}
figure.chart figcaption{font-weight:600;margin-bottom:.3rem}
figure.chart svg{width:100%;height:auto;display:block}
.legend i{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin:0 .25em 0 .8em}
.scroll{overflow-x:auto;background:#fff;border-radius:8px;box-shadow:0 1px 2px #0001}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{padding:.4rem .6rem;border-bottom:1px solid #eaeef2;text-align:left;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.wrap{white-space:normal;min-width:12rem;word-break:break-all}
th{background:#f6f8fa;color:#59636e;font-weight:600}
.muted{color:#59636e}.bad{color:#cf222e}.ok{color:#1a7f37}.warn{color:#9a6700}
nav.tabs a{margin-right:.8rem}
form.login{background:#fff;max-width:360px;margin:3rem auto;padding:1.2rem;border-radius:8px;
box-shadow:0 1px 3px #0002}
form.login input{width:100%;padding:.5rem;margin:.4rem 0 .8rem;font-size:1rem}
button{background:#1f6feb;color:#fff;border:0;border-radius:6px;padding:.5rem 1rem;font-size:1rem}
@media (max-width:600px){main{padding:.6rem}.card b{font-size:1.25rem}th,td{padding:.35rem .4rem}}
"""

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def esc(value: Any) -> str:
    """Text made safe for HTML element content and quoted attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def nav(request: web.Request) -> str:
    links = request.app.get(NAV, [])
    items = "".join(f'<a href="{esc(href)}">{esc(label)}</a>' for href, label in links)
    who = principal_of(request)
    me = (
        f'<span class="me" data-role="{esc(who.role)}">{esc(who.name)}'
        f"（{esc(ROLE_CN.get(who.role, who.role))}）</span>"
        if who is not None
        else ""
    )
    return (
        f"<header><strong>groupbot 群数据</strong>{items}{me}"
        '<a href="/admin/logout">退出</a></header>'
    )


def page(
    request: web.Request, title: str, body: str, *, status: int = 200, chrome: bool = True
) -> web.Response:
    """A full HTML page; ``body`` is already-escaped HTML."""
    doc = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · groupbot</title><style>{CSS}</style></head><body>"
        f"{nav(request) if chrome else ''}<main>{body}</main></body></html>"
    )
    return web.Response(
        text=doc,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


def cards(items: Iterable[tuple[str, Any, str]]) -> str:
    """Number cards: (label, value, data-field name)."""
    out = "".join(
        f'<div class="card" data-field="{esc(field)}" data-value="{esc(value)}">'
        f"<b>{esc(value)}</b><span>{esc(label)}</span></div>"
        for label, value, field in items
    )
    return f'<div class="cards">{out}</div>'


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[int] = (),
    wrap: Sequence[int] = (),
    attrs: str = "",
    raw: Sequence[int] = (),
    empty: str = "暂无数据",
) -> str:
    """A table; cells are escaped unless their column is in ``raw`` (already HTML)."""

    def cls(i: int) -> str:
        c = "num" if i in numeric else "wrap" if i in wrap else ""
        return f' class="{c}"' if c else ""

    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(header))
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls(i)}>{c if i in raw else esc(c)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    if not body:
        body = f'<tr><td colspan="{len(header)}" class="muted">{esc(empty)}</td></tr>'
    return (
        f'<div class="scroll"><table {attrs}><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def link(href: str, text: Any) -> str:
    return f'<a href="{esc(href)}">{esc(text)}</a>'


def group_tabs(request: web.Request, gid: str, name: str) -> str:
    """The group's title and its tab row (the features' group pages)."""
    q = quote(gid, safe="")
    tabs = [
        (href.format(gid=q) if "{gid}" in href else f"{href}?group={q}", label)
        for href, label in request.app.get(TABS, [])
    ]
    links = "".join(link(href, label) for href, label in tabs)
    title = f'<h1>{esc(name)} <small class="muted">{esc(gid)}</small></h1>'
    return f'{title}<nav class="tabs">{links}</nav>'


async def load_group(request: web.Request) -> tuple[str, str]:
    """(gid, display name) of the group in the URL; 404 when never configured nor seen."""
    bot = request.app[BOT]
    gid = request.match_info["gid"]
    g = bot.config.group(gid)
    if g is None:
        async with bot.db.read() as s:
            if await s.get(Group, gid) is None:
                raise not_found(f"unknown group {gid}")
    return gid, (g.name if g else "") or gid


def when(at: datetime | None, request: web.Request, gid: str | None = None) -> str:
    """A time in the group's timezone, short (``-`` when there is none)."""
    if at is None:
        return "-"
    tz = request.app[BOT].config.timezone(gid)
    return at.astimezone(tz).strftime("%m-%d %H:%M")


def excerpt(text: Any, n: int = 80) -> str:
    """The first ``n`` characters of a text on one line."""
    s = " ".join(str(text or "").split())
    return s if len(s) <= n else s[: n - 1] + "…"
