"""``/admin/broadcasts/{id}``: one broadcast followed group by group — the counts per state,
each group's state and reason (read from the outbox, as the API's report), and a button that
takes back what has not gone (an anti-forgery form, like every form that changes
something)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from bot.web_public import (
    bot_of,
    cards,
    checked_form,
    esc,
    form_guard,
    link,
    not_found,
    page,
    record_change,
    table,
    when,
)
from handlers.broadcast import repo
from handlers.broadcast.api import broadcast_id
from handlers.broadcast.page import PATH, STATUS_CN, shown_image
from handlers.groupmsg import STATE_CN as GROUPMSG_CN

STATE_CN = {
    "scheduled": "待发送",
    "queued": "排队中",
    "sent": "已发送",
    "failed": "失败",
    "dead": "无法投递",
    "cancelled": "已取消",
    "unknown": "记录已清理",
    # WeCom customer groups without a robot (企业群发 and staff reminders)
    **{k: v for k, v in GROUPMSG_CN.items() if k not in ("sent", "failed", "cancelled")},
}
PART_CN = {"text": "文字", "image": "图片"}
STATE_CLASS = {
    "sent": "ok",
    "reminded": "ok",
    "failed": "bad",
    "dead": "bad",
    "reminder_failed": "bad",
    "not_sent": "bad",
    "already_received": "warn",
    "cancelled": "muted",
}


async def report_page(request: web.Request) -> web.Response:
    bot = bot_of(request)
    bid = broadcast_id(request)
    async with bot.db.read() as s:
        rep = await repo.report(s, bid)
        known = await repo.known_groups(s, [g["group_id"] for g in rep["groups"]] if rep else [])
    if rep is None:
        raise not_found(f"unknown broadcast {bid}")

    def name(gid: str) -> str:
        g = bot.config.group(gid)
        return (g.name if g else "") or (known[gid].name if gid in known else "") or "-"

    rows = [
        (
            g["group_id"],
            name(g["group_id"]),
            f'<span class="{STATE_CLASS.get(g["state"], "warn")}" data-state="{esc(g["state"])}">'
            f"{esc(STATE_CN.get(g['state'], g['state']))}</span>",
            g["reason"] or "-",
            " ".join(
                PART_CN.get(p["kind"], p["kind"]) + STATE_CN.get(p["status"], p["status"])
                for p in g["parts"]
            )
            or "-",
        )
        for g in rep["groups"]
    ]
    status = rep["status"]
    at = when(datetime.fromisoformat(rep["at"]), request) if rep["at"] else "立即"
    stop = ""
    if status in ("scheduled", "sending"):
        stop = (
            f'<form method="post" action="{PATH}/{bid}/cancel">{form_guard(request)}'
            '<button type="submit">取消未发出的消息</button></form>'
        )
    body = (
        f'<h1>群发 #{bid} <small data-status="{esc(status)}">'
        f"{esc(STATUS_CN.get(status, status))}</small></h1>"
        f"<p>{link(PATH, '← 全部群发')} · {link(f'{PATH}/{bid}', '刷新')}</p>"
        f"{cards([(STATE_CN[k], n, k) for k, n in rep['counts'].items() if k in STATE_CN])}"
        f"<p>发给 {esc('、'.join(rep['targets']))} · 发送时间 {esc(at)} · 创建于 "
        f"{esc(when(datetime.fromisoformat(rep['created_at']), request))}</p>"
        '<div class="scroll"><pre style="padding:.6rem;white-space:pre-wrap;font:inherit">'
        f"{esc(rep['text'])}</pre></div>{shown_image(rep['image']) if rep['image'] else ''}"
        f"{stop}<h2>各群状态</h2>"
        + table(
            ["群", "群名", "状态", "原因", "各部分"],
            rows,
            raw=(2,),
            wrap=(3,),
            attrs='data-table="groups"',
        )
    )
    return page(request, f"群发 #{bid}", body)


async def cancel_post(request: web.Request) -> web.Response:
    """The cancel button: take back what has not gone, then back to the report."""
    bot = bot_of(request)
    await checked_form(request)
    bid = broadcast_id(request)
    async with bot.db.transaction() as s:
        taken = await repo.cancel(s, bid, bot.clock.now())
        if taken is None:
            raise not_found(f"unknown broadcast {bid}")
        record_change(s, request, "broadcast.cancel", str(bid), took_back=taken)
    return web.Response(status=303, headers={"Location": f"{PATH}/{bid}"})
