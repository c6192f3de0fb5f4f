"""Operations pages: this week's programme, the outbox with its dead letters, and the
moderation log. Everything shown is escaped; times are shown in the group's timezone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot.web.dashboard.group import group_tabs, load_group
from bot.web.dashboard.layout import cards, esc, link, page, table
from bot.web.ingest import BOT
from handlers.programme.table import STATUS_CN, monday_of, week
from storage.models import Member, OutboxMessage
from storage.models_moderation import ModerationLog

STATUS_CLASS = {"sent": "ok", "failed": "bad", "skipped": "warn", "pending": "muted"}
OUTBOX_CN = {"queued": "排队中", "sent": "已发送", "dead": "无法投递"}
LIMIT = 200


def when(at: datetime | None, request: web.Request, gid: str | None = None) -> str:
    if at is None:
        return "-"
    tz = request.app[BOT].config.timezone(gid)
    return at.astimezone(tz).strftime("%m-%d %H:%M")


def excerpt(text: Any, n: int = 80) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= n else s[: n - 1] + "…"


async def programme_page(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    gid, name = await load_group(request)
    now = bot.clock.now()
    monday = monday_of(now.astimezone(bot.config.timezone(gid)).date())
    async with bot.db.read() as s:
        rows = await week(bot.config, s, gid, monday, now)
    out = []
    for occ, status in rows:
        first = (occ.slot.content or (occ.slot.pool[0] if occ.slot.pool else "")).splitlines()
        cls = STATUS_CLASS[status]
        badge = f'<span class="{cls}" data-status="{status}">{STATUS_CN[status]}</span>'
        out.append(
            (
                when(occ.at, request, gid),
                occ.slot.theme or occ.slot.id,
                occ.slot.id,
                badge,
                excerpt(first[0] if first else ""),
            )
        )
    counts = {st: sum(1 for _, x in rows if x == st) for st in STATUS_CN}
    head = cards([(STATUS_CN[st], n, st) for st, n in counts.items()])
    grid = table(
        ["时间", "主题", "节目", "状态", "内容"],
        out,
        raw=(3,),
        wrap=(4,),
        attrs='data-table="programme"',
    )
    body = f"{group_tabs(gid, name)}<h2>本周节目（{monday:%m-%d} 起）</h2>{head}<br>{grid}"
    return page(f"{name} 本周节目", body)


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
    return page("消息队列", body)


async def moderation_page(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    gid = request.query.get("group") or None
    q = select(ModerationLog, Member.name).outerjoin(
        Member,
        (Member.group_id == ModerationLog.group_id) & (Member.user_id == ModerationLog.user_id),
    )
    if gid is not None:
        q = q.where(ModerationLog.group_id == gid)
    async with bot.db.read() as s:
        rows = (await s.execute(q.order_by(ModerationLog.id.desc()).limit(LIMIT))).all()
    out = [
        (
            when(r.created_at, request, r.group_id),
            r.group_id,
            name or r.user_id,
            r.user_id,
            r.rule,
            r.action + ("（影子模式）" if r.shadow else "") + ("（已撤销）" if r.undone_at else ""),
            excerpt(r.reason),
            excerpt(r.excerpt),
            r.actor_id or "自动",
        )
        for r, name in rows
    ]
    scope = f"群 {esc(gid)} · {link('/admin/moderation', '全部群')}" if gid else "全部群"
    body = f"<h1>管理日志</h1><p class='muted'>{scope}，最近 {LIMIT} 条</p>" + table(
        ["时间", "群", "成员", "ID", "规则", "动作", "原因", "内容", "操作人"],
        out,
        wrap=(6, 7),
        attrs='data-table="moderation"',
        empty="没有记录",
    )
    return page("管理日志", body)
