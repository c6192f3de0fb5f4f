"""The dashboard's session cookie: set by the login form or ``?token=``, checked by the
token guard (``bot.web.auth``)."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

COOKIE = "groupbot_session"


def session_value(token: str) -> str:
    """The dashboard cookie: derived from the token, so the token itself is never stored."""
    return hmac.new(token.encode(), b"groupbot-dashboard-session", hashlib.sha256).hexdigest()


def set_session(response: web.StreamResponse, request: web.Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        session_value(token),
        path="/admin",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        max_age=7 * 24 * 3600,
    )
