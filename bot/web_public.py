"""What a feature's web routes and dashboard pages may use (the rest of ``bot.web`` is the
core's own).

Rules: API errors are JSON ``{"error": reason}`` with 400/404; query numbers are checked with
``int_param``; every value shown on a page goes through ``esc`` (``table``/``cards`` do it);
CSV downloads come from ``csv_response``; a page form that changes something carries
``form_guard(request)`` and its POST handler reads it with ``checked_form`` (403 otherwise);
an upload in such a form is read with ``uploaded_file`` after ``checked_form``.
Console users: any non-GET dashboard request needs the role ``operator`` (checked before the
handler); a handler needing more calls ``require_role(request, "admin")``; every change is
recorded with ``record_change(session, request, action, target, group_id=…, **detail)`` in the
change's own transaction (actor ``staff:<name>``, ``token`` or ``api``).
"""

from __future__ import annotations

import re

from aiohttp import web

from bot.feature import Page
from bot.runtime import Bot
from bot.web.api import bad_request, iso, json_body, not_found
from bot.web.csvout import csv_response
from bot.web.dashboard.charts import Series, bar_chart, line_chart, sparkline
from bot.web.dashboard.forms import checked_form, form_guard, uploaded_file
from bot.web.dashboard.layout import (
    cards,
    esc,
    excerpt,
    group_tabs,
    link,
    load_group,
    page,
    table,
    when,
)
from bot.web.ingest import BOT
from bot.web.staff import Principal, actor, principal_of, record_change, require_role


def bot_of(request: web.Request) -> Bot:
    """The running bot behind a request."""
    return request.app[BOT]


def int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    """A whole-number query parameter from ``lo`` to ``hi`` (400 with the reason otherwise)."""
    raw = request.query.get(name, str(default))
    if not re.fullmatch(r"\d{1,6}", raw.strip()) or not lo <= int(raw) <= hi:
        raise bad_request(f"{name} must be a whole number from {lo} to {hi}")
    return int(raw)


__all__ = [
    "BOT",
    "Page",
    "Principal",
    "Series",
    "actor",
    "bad_request",
    "bar_chart",
    "bot_of",
    "cards",
    "checked_form",
    "csv_response",
    "esc",
    "excerpt",
    "form_guard",
    "group_tabs",
    "int_param",
    "iso",
    "json_body",
    "line_chart",
    "link",
    "load_group",
    "not_found",
    "page",
    "principal_of",
    "record_change",
    "require_role",
    "sparkline",
    "table",
    "uploaded_file",
    "when",
]
