"""Bearer-token and staff-session guard for ``/api`` and ``/admin``."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot import adoptions
from bot.staff import sessions
from bot.web.dashboard.login import LOGIN_PATH, login_page, without_token
from bot.web.ingest import BOT
from bot.web.session import COOKIE, STAFF_COOKIE, session_value, set_session
from bot.web.staff import STAFF, Principal, staff_principal, token_principal

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
READING = ("GET", "HEAD", "OPTIONS")


def token_middleware(token: str) -> Middleware:
    """Refuse /api and /admin requests without ``Authorization: Bearer <bot.api_token>`` (401).
    With no token configured the API is disabled (403). The dashboard also accepts a staff
    member's session cookie (``groupbot user add``; HttpOnly, set by the login form), the
    token's session cookie and ``?token=`` — which sets the cookie and redirects to the same
    page without the token, so it does not linger in the address bar. An unauthorised
    dashboard request gets the login form, still with status 401. A dashboard request that
    is not a read needs the role ``operator`` (403 otherwise, before anything runs)."""

    @web.middleware
    async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(("/api/", "/admin")):
            return await handler(request)
        await adoptions.refresh(request.app[BOT].services)  # (at most every REFRESH_S)
        if not token:
            return web.json_response({"error": "API disabled: bot.api_token is empty"}, status=403)
        given = request.headers.get("Authorization", "")
        given = given[7:] if given.startswith("Bearer ") else ""
        if not given and request.path.startswith("/admin"):
            return await _dashboard(request, handler, token)
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            return web.json_response(
                {"error": "unauthorized"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="groupbot"'},
            )
        request[STAFF] = token_principal(token, header=True)
        return await handler(request)

    return mw


async def _staff(request: web.Request) -> Principal | None:
    cookie = request.cookies.get(STAFF_COOKIE, "")
    if not cookie:
        return None
    bot = request.app[BOT]
    now = bot.clock.now()
    async with bot.db.read() as s:
        signed = await sessions.find(s, cookie, now, bot.config.console)
    if signed is None:
        return None
    if signed.expired or signed.touch:
        async with bot.db.transaction() as s:
            await sessions.settle(s, signed, now)
    if signed.expired:
        return None
    return staff_principal(signed.account.name, signed.account.role, cookie)


async def _dashboard(request: web.Request, handler: Handler, token: str) -> web.StreamResponse:
    if request.path == LOGIN_PATH and request.method == "POST":
        return await handler(request)  # signing in: the form checks the password itself
    who = await _staff(request)
    query_token = request.query.get("token", "")
    if who is None and query_token and hmac.compare_digest(query_token.encode(), token.encode()):
        response = web.Response(status=303, headers={"Location": without_token(request)})
        set_session(response, request, token)
        return response
    cookie = request.cookies.get(COOKIE, "")
    if (
        who is None
        and cookie
        and hmac.compare_digest(cookie.encode(), session_value(token).encode())
    ):
        who = token_principal(token, header=False)
    if who is None:
        return login_page(request, status=401, failed=bool(query_token))
    request[STAFF] = who
    if request.method not in READING and not who.may("operator"):
        raise web.HTTPForbidden(text="只读账号不能修改任何内容。")
    return await handler(request)
