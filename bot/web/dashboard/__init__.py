"""The web dashboard at ``/admin/`` (same token as the API; see ``bot.web.auth``).

Server-rendered HTML with inline SVG charts, readable on a phone, no script. The core serves
the login, the outbox page and the layout; each feature adds its own pages (``Feature.pages``),
which also make the top bar and each group's tab row.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from aiohttp import web

from bot.feature import Page
from bot.web.dashboard import changes, login, outbox
from bot.web.dashboard.layout import NAV, TABS, link, page
from bot.web.ingest import BOT


async def _to_overview(_request: web.Request) -> web.Response:
    return web.Response(status=308, headers={"Location": "/admin/"})


async def _groups(request: web.Request) -> web.Response:
    """The landing page when no feature brings one: the configured groups."""
    bot = request.app[BOT]
    items = "".join(
        "<li>" + link("/admin/groups/" + quote(g.id, safe=""), g.name or g.id) + "</li>"
        for g in bot.config.groups
    )
    return page(request, "总览", f"<h1>总览</h1><ul>{items}</ul>")


def setup(app: web.Application, pages: Sequence[Page]) -> None:
    paths = {p.path for p in pages}
    app[NAV] = [("/admin/", "总览"), ("/admin/outbox", "消息队列")]
    app[NAV] += [(p.path, p.nav) for p in pages if p.nav]
    app[NAV] += [(changes.PATH, "最近修改")]
    app[TABS] = [(p.path, p.tab) for p in pages if p.tab]
    r = app.router
    r.add_get("/admin", _to_overview)
    if "/admin/" not in paths:
        r.add_get("/admin/", _groups)
    r.add_get(login.LOGIN_PATH, login.login_get)
    r.add_post(login.LOGIN_PATH, login.login_post)
    r.add_get("/admin/logout", login.logout)
    r.add_get("/admin/outbox", outbox.outbox_page)
    r.add_get(changes.PATH, changes.changes_page)
    for p in pages:
        r.add_get(p.path, p.handler)
