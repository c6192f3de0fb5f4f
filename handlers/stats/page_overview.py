"""``/admin/``: every group at a glance — totals and 30-day trends over all groups, and a table of
groups one page at a time.

Rules:
- The cards and trends add up every group (``totals``: kept figures for dates that have
  ended, today computed live); a group is active when someone spoke in it during the last 7
  days. Nothing on the page costs a statement or a Python loop per group of the whole set.
- The table shows ``per_page`` groups (10–200, default 50) of page ``page`` (from 1): configured
  groups first in their configured order, then groups met on the wire by id. A page number or
  size out of range is a 400 naming the allowed range.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from aiohttp import web

from bot.web_public import (
    BOT,
    Series,
    bar_chart,
    cards,
    esc,
    int_param,
    line_chart,
    page,
    sparkline,
    table,
)
from handlers.stats.daily import DayStats
from handlers.stats.overview_data import overview_series
from handlers.stats.reports import known_group_count, known_group_ids_page
from handlers.stats.totals import DayTotals, active_groups, totals_series
from storage.dialect import plan_each_read

DAYS = 30
PER_PAGE = 50
MAX_PER_PAGE = 200


def week_sum(series: list[DayStats], field: str, days: int = 7) -> int:
    return sum(getattr(d, field) for d in series[-days:])


def _cards(groups: int, active: int, totals: list[DayTotals]) -> str:
    today = totals[-1]
    week = totals[-7:]
    return cards(
        [
            ("群数", groups, "groups"),
            ("近7天活跃群", active, "active_groups"),
            ("成员总数", today.members, "members"),
            ("今日活跃成员", today.active_members, "active_members"),
            ("近7天入群", sum(d.joins for d in week), "joins_7d"),
            ("近7天退群", sum(d.leaves for d in week), "leaves_7d"),
            ("近7天消息", sum(d.messages for d in week), "messages_7d"),
            ("近30天消息", sum(d.messages for d in totals), "messages_30d"),
        ]
    )


def _charts(totals: list[DayTotals]) -> str:
    dates = [d.day.isoformat() for d in totals]
    members = Series(
        "members", "成员", "#1f6feb", list(zip(dates, [d.members for d in totals], strict=True))
    )
    act = Series(
        "active_members",
        "活跃成员",
        "#1a7f37",
        list(zip(dates, [d.active_members for d in totals], strict=True)),
    )
    return (
        '<div class="charts">'
        + line_chart("total-members", "全部群成员（30天）", [members])
        + bar_chart("total-active", "每日活跃成员（30天）", [act])
        + "</div>"
    )


def _pager(number: int, pages: int, per_page: int) -> str:
    """Links to the first, previous, next and last pages (``data-page`` on each)."""

    def href(n: int) -> str:
        query = {"page": n} if per_page == PER_PAGE else {"page": n, "per_page": per_page}
        return "/admin/?" + urlencode(query)

    parts = []
    for label, n in (("首页", 1), ("上一页", number - 1), ("下一页", number + 1), ("末页", pages)):
        if 1 <= n <= pages and n != number:
            parts.append(f'<a href="{esc(href(n))}" data-page="{n}">{esc(label)}</a>')
    where = f'<span class="muted">第 {number} / {pages} 页</span>'
    return f'<p class="pager">{where} {" ".join(parts)}</p>'


def _row(request: web.Request, gid: str, ser: list[DayStats]) -> tuple[object, ...]:
    g = request.app[BOT].config.group(gid)
    name = (g.name if g else "") or gid
    href = f"/admin/groups/{quote(gid, safe='')}"
    change = ser[-1].members - ser[-8].members if len(ser) >= 8 else 0
    return (
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


HEADER = [
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
]


async def overview(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    now = bot.clock.now()
    per_page = int_param(request, "per_page", PER_PAGE, 10, MAX_PER_PAGE)
    async with bot.db.read() as s:
        await plan_each_read(s)
        count = await known_group_count(s, bot.config)
        pages = max(1, -(-count // per_page))
        number = int_param(request, "page", 1, 1, pages)
        shown = await known_group_ids_page(s, bot.config, (number - 1) * per_page, per_page)
        totals = await totals_series(s, bot.config, now, DAYS)
        last = totals[-1].day
        active = await active_groups(s, totals[-7:][0].day, last)
        per_group = await overview_series(s, bot.config, shown, DAYS, now)
    rows = [_row(request, gid, per_group[gid]) for gid in shown]
    groups = table(
        HEADER,
        rows,
        numeric=(2, 3, 4, 5, 6, 7, 8),
        raw=(0, 9, 10),
        attrs=f'data-table="groups" data-page="{number}" data-pages="{pages}"',
    )
    pager = _pager(number, pages, per_page) if pages > 1 else ""
    note = (
        '<p class="muted">合计与趋势把每个群同一日期的数字相加；已结束的日期定时汇总，'
        "今天的数字实时计算。</p>"
    )
    body = (
        f"<h1>总览</h1>{_cards(count, active, totals)}<h2>趋势</h2>{_charts(totals)}{note}"
        f"<h2>各群（共 {count} 个）</h2>{pager}{groups}{pager}"
    )
    return page(request, "总览", body)
