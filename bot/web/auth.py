"""Bearer-token guard for ``/api`` and ``/admin``."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.web.dashboard.login import LOGIN_PATH, login_page, without_token
from bot.web.session import COOKIE, session_value, set_session

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def token_middleware(token: str) -> Middleware:
    """Refuse /api and /admin requests without ``Authorization: Bearer <bot.api_token>`` (401).
    With no token configured the API is disabled (403). The dashboard also accepts its session
    cookie (HttpOnly, set by the login form) and ``?token=`` — which sets the cookie and
    redirects to the same page without the token, so it does not linger in the address bar.
    An unauthorised dashboard request gets the login form, still with status 401."""

    @web.middleware
    async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(("/api/", "/admin")):
            return await handler(request)
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
        return await handler(request)

    return mw


async def _dashboard(request: web.Request, handler: Handler, token: str) -> web.StreamResponse:
    if request.path == LOGIN_PATH and request.method == "POST":
        return await handler(request)  # signing in: the form checks the token itself
    query_token = request.query.get("token", "")
    if query_token and hmac.compare_digest(query_token.encode(), token.encode()):
        response = web.Response(status=303, headers={"Location": without_token(request)})
        set_session(response, request, token)
        return response
    cookie = request.cookies.get(COOKIE, "")
    if cookie and hmac.compare_digest(cookie.encode(), session_value(token).encode()):
        return await handler(request)
    return login_page(request, status=401, failed=bool(query_token))
