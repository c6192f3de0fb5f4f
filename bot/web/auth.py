"""Bearer-token guard for ``/api`` and ``/admin``."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def token_middleware(token: str) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Refuse /api and /admin requests without ``Authorization: Bearer <bot.api_token>`` (401).
    With no token configured the API is disabled (403). The dashboard also accepts
    ``?token=`` so a browser can open it from a link."""

    @web.middleware
    async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(("/api/", "/admin")):
            return await handler(request)
        if not token:
            return web.json_response({"error": "API disabled: bot.api_token is empty"}, status=403)
        given = request.headers.get("Authorization", "")
        given = given[7:] if given.startswith("Bearer ") else ""
        if not given and request.path.startswith("/admin"):
            given = request.query.get("token", "") or request.cookies.get("groupbot_token", "")
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            return web.json_response(
                {"error": "unauthorized"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="groupbot"'},
            )
        return await handler(request)

    return mw
