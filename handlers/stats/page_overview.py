"""``/admin/``: every group at a glance — members, activity, 7- and 30-day trends.

Rules: a group is active when someone spoke in it during the last 7 days; totals add up the
groups' daily figures (``members`` is the sum of each group's end-of-day count).
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from bot.web_public import BOT, Series, bar_chart, cards, esc, line_chart, page, sparkline, table
from handlers.stats.daily import DayStats
from handlers.stats.overview_data import overview_series
from handlers.stats.reports import known_group_ids

DAYS = 30


def week_sum(series: list[DayStats], field: str, days: int = 7) -> int:
    return sum(getattr(d, field) for d in series[-days:])


async def overview(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    now = bot.clock.now()
    async with bot.db.read() as s:
        gids = await known_group_ids(s, bot.config)
        per_group = await overview_series(s, bot.config, gids, DAYS, now)
    dates = [d.date for d in next(iter(per_group.values()), [])]
    total = {
        f: [sum(getattr(ser[i], f) for ser in per_group.values()) for i in range(len(dates))]
        for f in ("members", "active_members", "messages", "joins", "leaves")
    }
    active = [g for g, ser in per_group.items() if week_sum(ser, "messages") > 0]
    head = cards(
        [
            ("群数", len(per_group), "groups"),
            ("近7天活跃群", len(active), "active_groups"),
            ("成员总数", total["members"][-1] if dates else 0, "members"),
            ("今日活跃成员", total["active_members"][-1] if dates else 0, "active_members"),
            ("近7天入群", sum(total["joins"][-7:]), "joins_7d"),
            ("近7天退群", sum(total["leaves"][-7:]), "leaves_7d"),
            ("近7天消息", sum(total["messages"][-7:]), "messages_7d"),
            ("近30天消息", sum(total["messages"]), "messages_30d"),
        ]
    )
    charts = ""
    if dates:
        members = Series(
            "members", "成员", "#1f6feb", list(zip(dates, total["members"], strict=True))
        )
        act = Series(
            "active_members",
            "活跃成员",
            "#1a7f37",
            list(zip(dates, total["active_members"], strict=True)),
        )
        charts = (
            '<div class="charts">'
            + line_chart("total-members", "全部群成员（30天）", [members])
            + bar_chart("total-active", "每日活跃成员（30天）", [act])
            + "</div>"
        )
    rows = []
    for gid, ser in per_group.items():
        g = bot.config.group(gid)
        name = (g.name if g else "") or gid
        href = f"/admin/groups/{quote(gid, safe='')}"
        change = ser[-1].members - ser[-8].members if len(ser) >= 8 else 0
        rows.append(
            (
                f'<a href="{esc(href)}">{esc(name)}</a>',
                g.platform if g else "-",
                ser[-1].members,
                f"{change:+d}",
                week_sum(ser, "joins"),
                week_sum(ser, "leaves"),
                week_sum(ser, "messages"),
                ser[-1].active_members,
                week_sum(ser, "checkins"),
                sparkline(f"members-{gid}", [(d.date, d.members) for d in ser]),
                sparkline(f"active-{gid}", [(d.date, d.active_members) for d in ser], "#1a7f37"),
            )
        )
    groups = table(
        [
            "群",
            "平台",
            "成员",
            "7天变化",
            "7天入群",
            "7天退群",
            "7天消息",
            "今日活跃",
            "7天签到",
            "成员趋势(30天)",
            "活跃趋势(30天)",
        ],
        rows,
        numeric=(2, 3, 4, 5, 6, 7, 8),
        raw=(0, 9, 10),
        attrs='data-table="groups"',
    )
    body = f"<h1>总览</h1>{head}<h2>趋势</h2>{charts}<h2>各群</h2>{groups}"
    return page(request, "总览", body)
