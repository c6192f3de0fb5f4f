"""The web dashboard at ``/admin/`` (same token as the API; see ``bot.web.auth``).

Server-rendered HTML with inline SVG charts, readable on a phone, no script. Pages: overview,
one page per group (charts and daily table, CSV), leaderboards, this week's programme, the
outbox with dead letters, the moderation log.
"""

from __future__ import annotations

from aiohttp import web

from bot.web.dashboard import boards, group, login, ops, overview


async def _to_overview(_request: web.Request) -> web.Response:
    return web.Response(status=308, headers={"Location": "/admin/"})


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/admin", _to_overview)
    r.add_get("/admin/", overview.overview)
    r.add_get(login.LOGIN_PATH, login.login_get)
    r.add_post(login.LOGIN_PATH, login.login_post)
    r.add_get("/admin/logout", login.logout)
    r.add_get("/admin/groups/{gid}", group.group_page)
    r.add_get("/admin/groups/{gid}/stats.csv", group.group_csv)
    r.add_get("/admin/groups/{gid}/leaderboards", boards.leaderboards_page)
    r.add_get("/admin/groups/{gid}/programme", ops.programme_page)
    r.add_get("/admin/outbox", ops.outbox_page)
    r.add_get("/admin/moderation", ops.moderation_page)
