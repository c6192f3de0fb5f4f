"""``/admin/changes`` (最近修改): who changed what from the console or the API, and when —
the audit rows whose actor is a staff member (``staff:<name>``), the token's browser session
(``token``) or an API call (``api``), newest first. Everything shown is escaped."""

from __future__ import annotations

import json

from aiohttp import web
from sqlalchemy import or_, select

from bot.web.dashboard.layout import excerpt, page, table, when
from bot.web.ingest import BOT
from storage.models import AuditEntry

PATH = "/admin/changes"
LIMIT = 200


def console_actors() -> object:
    """The audit rows written by the console or the API."""
    return or_(AuditEntry.actor_id.like("staff:%"), AuditEntry.actor_id.in_(("token", "api")))


async def changes_page(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    async with bot.db.read() as s:
        rows = list(
            await s.scalars(
                select(AuditEntry)
                .where(console_actors())  # type: ignore[arg-type]
                .order_by(AuditEntry.id.desc())
                .limit(LIMIT)
            )
        )
    shown = [
        (
            when(r.created_at, request, r.group_id),
            r.actor_id.removeprefix("staff:"),
            r.action,
            r.target_id or "-",
            r.group_id or "-",
            excerpt(json.dumps(r.detail or {}, ensure_ascii=False), 160),
        )
        for r in rows
    ]
    head = ["时间", "谁", "做了什么", "对象", "群", "详情"]
    grid = table(head, shown, wrap=(5,), attrs='data-table="changes"', empty="还没有修改")
    body = f'<h1>最近修改</h1><p class="muted">最近 {LIMIT} 条，来自控制台和 API。</p>{grid}'
    return page(request, "最近修改", body)
