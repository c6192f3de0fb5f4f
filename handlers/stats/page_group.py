"""``/admin/groups/{gid}``: one group's days in charts and a table, plus a CSV download.

Rules: ``days`` is 7–366 (default 30); the numbers are exactly the ones the stats API returns
for the same ``days`` (same function), so the page and ``/api/groups/{gid}/stats`` agree.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from bot.web_public import (
    BOT,
    Series,
    bad_request,
    bar_chart,
    cards,
    csv_response,
    esc,
    group_tabs,
    int_param,
    line_chart,
    link,
    load_group,
    page,
    table,
)
from handlers.stats.daily import FIELDS, MAX_DAYS, DayStats, daily_series

COLORS = {
    "members": "#1f6feb",
    "joins": "#1a7f37",
    "leaves": "#cf222e",
    "checkins": "#8250df",
    "active_members": "#bf8700",
    "messages": "#0969da",
}
LABELS = {
    "date": "日期",
    "members": "成员",
    "joins": "入群",
    "leaves": "退群",
    "messages": "消息",
    "active_members": "活跃成员",
    "checkins": "签到",
    "valid_invites": "有效邀请",
    "posts_sent": "节目已发",
    "posts_failed": "节目失败",
    "post_engagement": "节目后互动",
    "auto_replies": "自动回复",
}


def series(data: list[DayStats], field: str) -> Series:
    return Series(field, LABELS[field], COLORS[field], [(d.date, getattr(d, field)) for d in data])


async def group_page(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    gid, name = await load_group(request)
    days = int_param(request, "days", 30, 7, MAX_DAYS)
    async with bot.db.read() as s:
        data = await daily_series(s, bot.config, gid, days, bot.clock.now())
    today = data[-1]
    head = cards(
        [
            ("成员", today.members, "members"),
            ("今日入群", today.joins, "joins"),
            ("今日退群", today.leaves, "leaves"),
            ("今日消息", today.messages, "messages"),
            ("今日活跃", today.active_members, "active_members"),
            ("今日签到", today.checkins, "checkins"),
        ]
    )
    charts = (
        '<div class="charts">'
        + line_chart("members", f"成员数（{days}天）", [series(data, "members")])
        + bar_chart("joins-leaves", "入群 / 退群", [series(data, "joins"), series(data, "leaves")])
        + bar_chart("checkins", "每日签到", [series(data, "checkins")])
        + line_chart("active", "活跃成员", [series(data, "active_members")])
        + "</div>"
    )
    base = f"/admin/groups/{quote(gid, safe='')}"
    ranges = " ".join(link(f"{base}?days={n}", f"{n}天") for n in (7, 30, 90))
    csv_link = link(f"{base}/stats.csv?days={days}", "下载 CSV")
    rows = [
        [f'<span data-date="{esc(d.date)}">{esc(d.date)}</span>']
        + [
            f'<span data-date="{esc(d.date)}" data-field="{f}">{getattr(d, f)}</span>'
            for f in FIELDS[1:]
        ]
        for d in reversed(data)
    ]
    grid = table(
        [LABELS[f] for f in FIELDS],
        rows,
        numeric=tuple(range(1, len(FIELDS))),
        raw=tuple(range(len(FIELDS))),
        attrs='data-table="days"',
    )
    body = (
        f"{group_tabs(request, gid, name)}<p>{ranges} · {csv_link}</p>{head}"
        f"<h2>趋势</h2>{charts}<h2>每日明细</h2>{grid}"
    )
    return page(request, name, body)


async def group_csv(request: web.Request) -> web.StreamResponse:
    bot = request.app[BOT]
    gid, _name = await load_group(request)
    days = int_param(request, "days", 30, 1, MAX_DAYS)
    async with bot.db.read() as s:
        data = await daily_series(s, bot.config, gid, days, bot.clock.now())
    if not data:
        raise bad_request("no days")
    return csv_response(
        f"stats-{gid}-{data[-1].date}.csv", FIELDS, ([getattr(d, f) for f in FIELDS] for d in data)
    )
