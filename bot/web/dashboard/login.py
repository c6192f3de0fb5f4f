"""Signing in to the dashboard from a browser.

Rules: the login form takes a staff member's name and password (``groupbot user add``) or the
API token, and on success sets an HttpOnly, SameSite=Strict session cookie (see
``bot.web.auth``) and goes back to the page asked for — only ever a page under ``/admin/``,
so the form cannot be used to send someone elsewhere. A wrong name or password gets the form
again with status 401 and the same words whether the name exists or not; after
``[console] max_failures`` failures for a name or from an address within ``lockout_s``, the
form answers 429 without checking anything. Logging out ends the server-side session.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from bot.staff import accounts, sessions
from bot.state import StateKey
from bot.web.dashboard.layout import esc, page
from bot.web.ingest import BOT
from bot.web.session import COOKIE, STAFF_COOKIE, set_session, set_staff_session

LOGIN_PATH = "/admin/login"
THROTTLE: StateKey[sessions.Throttle] = StateKey("console.login_failures", sessions.Throttle)
NOTES = {
    "failed": "用户名或密码不正确，请重试。",
    "token": "令牌不正确，请重试。",
    "locked": "失败次数过多，请稍后再试。",
}


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
    request: web.Request,
    *,
    status: int = 200,
    failed: bool = False,
    target: str = "",
    note: str = "",
    name: str = "",
) -> web.Response:
    """The form; after signing in the browser goes to ``target`` (default: the page asked)."""
    if not target:
        here = without_token(request)
        target = request.query.get("next", "/admin/") if request.path == LOGIN_PATH else here
    note = note or ("token" if failed else "")
    shown = f'<p class="bad" data-error="{note}">{NOTES[note]}</p>' if note else ""
    nxt = f'<input type="hidden" name="next" value="{esc(safe_next(target))}">'
    body = (
        f'<form class="login" method="post" action="{LOGIN_PATH}" data-form="staff">'
        f"<h1>groupbot 群数据</h1>{shown}"
        '<label for="name">用户名</label>'
        f'<input id="name" name="name" autocomplete="username" value="{esc(name)}" required '
        "autofocus>"
        '<label for="password">密码</label>'
        '<input id="password" name="password" type="password" '
        f'autocomplete="current-password" required>{nxt}'
        '<button type="submit">登录</button></form>'
        f'<form class="login" method="post" action="{LOGIN_PATH}" data-form="token">'
        '<p class="muted">或使用配置里的 <code>bot.api_token</code>（供初次设置和脚本）。</p>'
        '<label for="token">访问令牌</label>'
        '<input id="token" name="token" type="password" autocomplete="off" required>'
        f'{nxt}<button type="submit">用令牌登录</button></form>'
    )
    return page(request, "登录", body, status=status, chrome=False)


async def login_get(request: web.Request) -> web.Response:
    """Already signed in (the guard let us through): straight on to the page asked for."""
    target = safe_next(request.query.get("next", "/admin/"))
    return web.Response(status=303, headers={"Location": target})


async def _staff_login(request: web.Request, name: str, password: str, target: str) -> web.Response:
    bot = request.app[BOT]
    cfg = bot.config.console
    throttle = bot.services.state.need(THROTTLE)
    keys = [f"name:{name}", f"ip:{request.remote or ''}"]
    if throttle.locked(keys, bot.clock.monotonic(), cfg):
        return login_page(request, status=429, target=target, note="locked", name=name)
    async with bot.db.read() as s:
        account = await accounts.verify(s, name, password)
    if account is None:
        throttle.failed(keys, bot.clock.monotonic(), cfg)
        return login_page(request, status=401, target=target, note="failed", name=name)
    throttle.cleared(keys[:1])
    async with bot.db.transaction() as s:
        cookie = await sessions.start(s, account, bot.clock.now(), cfg)
    response = web.Response(status=303, headers={"Location": target})
    set_staff_session(response, request, cookie)
    response.del_cookie(COOKIE, path="/admin")
    return response


async def login_post(request: web.Request) -> web.Response:
    token = request.app[BOT].config.bot.api_token
    form = await request.post()
    target = safe_next(str(form.get("next", "/admin/")))
    name = str(form.get("name", "")).strip()
    if name:
        return await _staff_login(request, name, str(form.get("password", "")), target)
    header = request.headers.get("Authorization", "")
    given = str(form.get("token", ""))
    if not given and header.startswith("Bearer "):
        given = header.removeprefix("Bearer ")
    if not token or not given or not hmac.compare_digest(given.encode(), token.encode()):
        return login_page(request, status=401, failed=True, target=target)
    response = web.Response(status=303, headers={"Location": target})
    set_session(response, request, token)
    return response


async def logout(request: web.Request) -> web.Response:
    cookie = request.cookies.get(STAFF_COOKIE, "")
    if cookie:
        async with request.app[BOT].db.transaction() as s:
            await sessions.end(s, cookie)
    response = web.Response(status=303, headers={"Location": LOGIN_PATH})
    response.del_cookie(COOKIE, path="/admin")
    response.del_cookie(STAFF_COOKIE, path="/admin")
    return response
