"""Who is using the console, what they may do, and the record of what they did.

Rules:
- The token guard (``bot.web.auth``) puts a ``Principal`` on every ``/admin`` request: a staff
  member signed in with name and password (``staff:<name>``, their role), or the API token
  (bearer header ``api``, token cookie ``token``: the role ``admin``, for machines and the
  first setup).
- Any ``/admin`` request that is not a GET/HEAD needs at least ``operator`` (403 before the
  handler runs, so nothing changes); a page that needs more calls ``require_role``.
- The anti-forgery value of a staff session is derived from that session's cookie, so a form
  taken from one session is refused in another; the token's is derived from the token.
- Every change made from the console is an ``AuditEntry`` whose actor is the principal's
  ``actor`` (``record_change``), in the same transaction as the change itself.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff.accounts import rank
from bot.web.ingest import BOT
from storage.models import AuditEntry

ROLE_CN = {"viewer": "只读", "operator": "运营", "admin": "管理员"}


@dataclass(frozen=True)
class Principal:
    """Who a console request comes from. ``form_key`` keys the anti-forgery value."""

    name: str
    role: str
    actor: str
    form_key: bytes
    staff: bool = False

    def may(self, role: str) -> bool:
        return rank(self.role) >= rank(role)


STAFF = web.RequestKey("groupbot_staff", Principal)  # who the request comes from


def token_principal(token: str, *, header: bool) -> Principal:
    return Principal("API 令牌", "admin", "api" if header else "token", token.encode())


def staff_principal(name: str, role: str, cookie: str) -> Principal:
    return Principal(name, role, f"staff:{name}", cookie.encode(), staff=True)


def principal_of(request: web.Request) -> Principal | None:
    return request.get(STAFF)


def require_role(request: web.Request, role: str) -> Principal:
    """The request's principal when it holds ``role`` or more; 403 otherwise."""
    who = principal_of(request)
    if who is None or not who.may(role):
        raise web.HTTPForbidden(text=f"需要「{ROLE_CN.get(role, role)}」权限。")
    return who


def actor(request: web.Request) -> str:
    """The audit actor of a console or API request (``api`` outside the console)."""
    who = principal_of(request)
    return who.actor if who is not None else "api"


def form_value(key: bytes) -> str:
    """The forms' anti-forgery value for a session (or token) key."""
    return hmac.new(key, b"groupbot-dashboard-form", hashlib.sha256).hexdigest()


def record_change(
    s: AsyncSession,
    request: web.Request,
    action: str,
    target_id: str = "",
    *,
    group_id: str | None = None,
    **detail: Any,
) -> None:
    """The audit row of a console change (same transaction as the change)."""
    s.add(
        AuditEntry(
            group_id=group_id,
            actor_id=actor(request)[:128],
            action=action[:64],
            target_id=target_id[:128],
            detail=detail,
            created_at=request.app[BOT].clock.now(),
        )
    )
