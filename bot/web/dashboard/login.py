"""Signing in to the dashboard from a browser.

Rules: the login form takes the API token (or a request already carrying the bearer token)
and, when it matches, sets the HttpOnly session cookie (see ``bot.web.auth``) and goes back to
the page asked for — only ever a page under ``/admin/``, so the form cannot be used to send
someone elsewhere. A wrong token gets the form again with status 401. Logging out clears the
cookie.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from bot.web.dashboard.layout import esc, page
from bot.web.ingest import BOT
from bot.web.session import COOKIE, set_session

LOGIN_PATH = "/admin/login"


def without_token(request: web.Request) -> str:
    """The path and query asked for, minus ``token``."""
    url = request.rel_url
    rest = [(k, v) for k, v in url.query.items() if k != "token"]
    return str(url.with_query(rest)) if rest else url.path


def safe_next(target: str) -> str:
    """``target`` if it is a dashboard page, else the overview."""
    if target.startswith("/admin/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin/"


def login_page(
    request: web.Request, *, status: int = 200, failed: bool = False, target: str = ""
) -> web.Response:
    """The form; after signing in the browser goes to ``target`` (default: the page asked)."""
    if not target:
        here = without_token(request)
        target = request.query.get("next", "/admin/") if request.path == LOGIN_PATH else here
    note = '<p class="bad">令牌不正确，请重试。</p>' if failed else ""
    body = (
        f'<form class="login" method="post" action="{LOGIN_PATH}">'
        "<h1>groupbot 群数据</h1>"
        '<p class="muted">请输入配置里的 <code>bot.api_token</code>。</p>'
        f"{note}"
        '<label for="token">访问令牌</label>'
        '<input id="token" name="token" type="password" autocomplete="current-password" '
        "required autofocus>"
        f'<input type="hidden" name="next" value="{esc(safe_next(target))}">'
        '<button type="submit">登录</button></form>'
    )
    return page(request, "登录", body, status=status, chrome=False)


async def login_get(request: web.Request) -> web.Response:
    """Already signed in (the guard let us through): straight on to the page asked for."""
    target = safe_next(request.query.get("next", "/admin/"))
    return web.Response(status=303, headers={"Location": target})


async def login_post(request: web.Request) -> web.Response:
    token = request.app[BOT].config.bot.api_token
    form = await request.post()
    header = request.headers.get("Authorization", "")
    given = str(form.get("token", ""))
    if not given and header.startswith("Bearer "):
        given = header.removeprefix("Bearer ")
    target = safe_next(str(form.get("next", "/admin/")))
    if not token or not given or not hmac.compare_digest(given.encode(), token.encode()):
        return login_page(request, status=401, failed=True, target=target)
    response = web.Response(status=303, headers={"Location": target})
    set_session(response, request, token)
    return response


async def logout(request: web.Request) -> web.Response:
    response = web.Response(status=303, headers={"Location": LOGIN_PATH})
    response.del_cookie(COOKIE, path="/admin")
    return response
