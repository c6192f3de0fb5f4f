"""Dashboard forms that change something (POST): never forgeable from another site.

Rules:
- Every such form carries a hidden ``csrf`` field (``form_guard``); ``checked_form`` refuses a
  POST without the right value with 403, and nothing changes. The value is derived from the
  API token, so a page on another site cannot know it (the session cookie is also
  ``SameSite=Strict``: two locks, not one).
- A request carrying the bearer token itself (scripts, tests) needs no form value: a browser
  never adds that header on its own.
"""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web
from multidict import MultiDict

from bot.web.dashboard.layout import esc
from bot.web.ingest import BOT

FIELD = "csrf"


def form_value(token: str) -> str:
    """The forms' anti-forgery value for the configured token."""
    return hmac.new(token.encode(), b"groupbot-dashboard-form", hashlib.sha256).hexdigest()


def form_guard(request: web.Request) -> str:
    """The hidden input every state-changing dashboard form must carry."""
    value = form_value(request.app[BOT].config.bot.api_token)
    return f'<input type="hidden" name="{FIELD}" value="{esc(value)}">'


async def checked_form(request: web.Request) -> MultiDict[str]:
    """The POSTed form's text fields, or 403 when it may have been sent from another site."""
    form = await request.post()
    fields: MultiDict[str] = MultiDict((k, v) for k, v in form.items() if isinstance(v, str))
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return fields  # (the token guard checked it: only scripts and tests send the header)
    expected = form_value(request.app[BOT].config.bot.api_token)
    given = fields.get(FIELD, "")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise web.HTTPForbidden(text="表单已失效或来自其他网站，请刷新页面后重试。")
    return fields
