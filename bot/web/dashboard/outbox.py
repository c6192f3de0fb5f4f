"""``/admin/outbox``: the outbox by status, its dead letters and the latest messages.
Everything shown is escaped; times are shown in the group's timezone."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot.web.dashboard.layout import cards, excerpt, page, table, when
from bot.web.ingest import BOT
from storage.models import OutboxMessage

OUTBOX_CN = {"queued": "排队中", "sent": "已发送", "dead": "无法投递", "cancelled": "已取消"}
LIMIT = 200


def outbox_rows(request: web.Request, msgs: list[OutboxMessage]) -> list[tuple[Any, ...]]:
    return [
        (
            m.id,
            m.group_id or "-",
            m.channel,
            m.action,
            OUTBOX_CN.get(m.status, m.status),
            m.attempts,
            when(m.created_at, request, m.group_id),
            when(m.sent_at, request, m.group_id),
            excerpt((m.payload or {}).get("text", "")),
            excerpt(m.last_error, 120) or "-",
        )
        for m in msgs
    ]


OUTBOX_HEAD = ["ID", "群", "通道", "动作", "状态", "尝试", "创建", "发送", "内容", "错误"]


async def outbox_page(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    async with bot.db.read() as s:
        counts = dict(
            (
                await s.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
            ).all()
        )
        dead = list(
            (
                await s.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.status == "dead")
                    .order_by(OutboxMessage.id.desc())
                    .limit(LIMIT)
                )
            ).all()
        )
        recent = list(
            (
                await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(50))
            ).all()
        )
    head = cards([(label, int(counts.get(st, 0)), st) for st, label in OUTBOX_CN.items()])
    body = (
        "<h1>消息队列</h1>"
        + head
        + "<h2>无法投递（死信）</h2>"
        + table(
            OUTBOX_HEAD,
            outbox_rows(request, dead),
            numeric=(0, 5),
            wrap=(8, 9),
            attrs='data-table="dead"',
            empty="没有死信",
        )
        + "<h2>最近 50 条</h2>"
        + table(
            OUTBOX_HEAD,
            outbox_rows(request, recent),
            numeric=(0, 5),
            wrap=(8, 9),
            attrs='data-table="recent"',
        )
    )
    return page(request, "消息队列", body)
