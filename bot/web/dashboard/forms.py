"""Dashboard forms that change something (POST): never forgeable from another site.

Rules:
- Every such form carries a hidden ``csrf`` field (``form_guard``); ``checked_form`` refuses a
  POST without the right value with 403, and nothing changes. The value is derived from the
  signed-in staff member's session cookie (a form from another session is refused too), or
  from the API token for a token sign-in, so a page on another site cannot know it (the
  session cookie is also ``SameSite=Strict``: two locks, not one).
- A request carrying the bearer token itself (scripts, tests) needs no form value: a browser
  never adds that header on its own.
- Roles are checked before any handler runs (``bot.web.staff``): a viewer's POST is a 403.
"""

from __future__ import annotations

import hmac

from aiohttp import web
from multidict import MultiDict

from bot.web.dashboard.layout import esc
from bot.web.ingest import BOT
from bot.web.staff import form_value, principal_of

FIELD = "csrf"


def expected(request: web.Request) -> str:
    who = principal_of(request)
    key = who.form_key if who is not None else request.app[BOT].config.bot.api_token.encode()
    return form_value(key)


def form_guard(request: web.Request) -> str:
    """The hidden input every state-changing dashboard form must carry."""
    return f'<input type="hidden" name="{FIELD}" value="{esc(expected(request))}">'


async def checked_form(request: web.Request) -> MultiDict[str]:
    """The POSTed form's text fields, or 403 when it may have been sent from another site."""
    fields: MultiDict[str] = MultiDict(
        (k, v) for k, v in (await request.post()).items() if isinstance(v, str)
    )
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return fields  # (the token guard checked it: only scripts and tests send the header)
    if not hmac.compare_digest(fields.get(FIELD, "").encode(), expected(request).encode()):
        raise web.HTTPForbidden(text="表单已失效或来自其他网站，请刷新页面后重试。")
    return fields


async def uploaded_file(request: web.Request, name: str) -> tuple[str, bytes] | None:
    """(file name, content) of the form's file field ``name``, or None; call it after
    ``checked_form`` (the form is read once; its size is capped by ``[server] max_body_bytes``)."""
    found = (await request.post()).get(name)
    if isinstance(found, web.FileField):
        return found.filename or name, found.file.read()
    return None
