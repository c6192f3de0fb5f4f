"""``/admin/moderation``: the moderation log (all groups, or ``?group=<gid>``), newest
first. Everything shown is escaped; times are in the group's timezone."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.web_public import BOT, esc, excerpt, link, page, table, when
from storage.models import Member
from storage.models_moderation import ModerationLog

LIMIT = 200


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
    return page(request, "管理日志", body)
