"""The dashboard's session cookies: the token's (set by the login form with the token or by
``?token=``) and a staff member's (set by the login form with name and password), both
checked by the token guard (``bot.web.auth``)."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from bot.web.ingest import BOT

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


STAFF_COOKIE = "groupbot_staff"


def set_staff_session(response: web.StreamResponse, request: web.Request, value: str) -> None:
    """A staff member's session cookie: a random value whose hash names the stored session
    (``bot.staff.sessions``); the browser forgets it when the session would run out anyway."""
    response.set_cookie(
        STAFF_COOKIE,
        value,
        path="/admin",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        max_age=request.app[BOT].config.console.max_hours * 3600,
    )
