"""``/admin/weekly`` (周报): a week's summary in the console — the sections and every group with
the change against the week before, the message as it is (or would be) posted, whether it
was posted, and the downloads.

Rules: the page takes the API's ``week`` (default: the latest full week; a week not ended or
malformed is a 400) and reads the same summary (``handlers.weekly.api``). Links step to the
week before and after (never to a week not ended). A change is green when it is good news and
red when bad (a rise in leaves, leave rate or dead letters is bad). Everything shown is escaped.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from bot import Config
from bot.web_public import bot_of, esc, page, table, when
from handlers.matrix import LABELS
from handlers.weekly.api import report_of, week_of
from handlers.weekly.config import WeeklyConfig, targets
from handlers.weekly.repo import Posted
from handlers.weekly.report import Figures, Report
from handlers.weekly.text import CONSOLE_PATH, compose, delta, value
from handlers.weekly.weeks import ended

SHOWN = (
    "members",
    "net_growth",
    "joins",
    "leaves",
    "leave_rate",
    "active_rate",
    "checkin_rate",
    "post_reach",
    "valid_invites",
    "dead_letters",
)
DAYS = "一二三四五六日"
WEEKDAY = dict(zip(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), DAYS, strict=True))
STYLE = (
    "<style>td small{display:block;color:#57606a}td small.good{color:#1a7f37}"
    "td small.bad{color:#cf222e}pre.post{white-space:pre-wrap;background:#fff;padding:1rem;"
    "border-radius:8px;box-shadow:0 1px 2px #0001;max-width:48rem}"
    "p.weeks a,p.downloads a{margin-right:1rem}</style>"
)


WORSE_UP = ("leaves", "leave_rate", "dead_letters")  # a rise in these is bad news


def cell(key: str, f: Figures) -> str:
    d = f.change[key]
    good = d < 0 if key in WORSE_UP else d > 0
    cls = "" if d == 0 else "good" if good else "bad"
    return (
        f'<span data-field="{key}">{esc(value(key, f.now[key]))}</span>'
        f'<small class="{cls}">{esc(delta(key, d))}</small>'
    )


def figures_table(head: list[str], rows: list[tuple[list[str], Figures]], attrs: str) -> str:
    header = [*head, *(LABELS[k] for k in SHOWN)]
    lead = len(head)
    body = [[*(esc(x) for x in names), *(cell(k, f) for k in SHOWN)] for names, f in rows]
    return table(
        header,
        body,
        numeric=range(lead, len(header)),
        raw=range(len(header)),
        attrs=attrs,
    )


def schedule(config: Config) -> str:
    cfg = config.feature(WeeklyConfig)
    if not cfg.enabled:
        return "自动发送未开启（配置 [weekly] enabled = true）。"
    to = "、".join(targets(config)) or "—"
    day = WEEKDAY[cfg.weekday]
    return f"每周{day} {cfg.time} 自动发送到 {to}（统计上一个完整周，周一至周日）。"


def status(request: web.Request, p: Posted | None) -> str:
    if p is None:
        return '<p data-posted="0">本周报尚未发送到群里。</p>'
    at, to = when(p.posted_at, request), "、".join(p.targets)
    return f'<p data-posted="1">已于 {esc(at)} 发送到 {esc(to)}。</p>'


def nav_links(request: web.Request, r: Report) -> str:
    bot = bot_of(request)
    tz, now = bot.config.timezone(None), bot.clock.now()
    links = [f'<a href="{esc(href(r.week.previous.name))}" data-week="prev">← 上一周</a>']
    if ended(r.week.next, now, tz):
        links.append(f'<a href="{esc(href(r.week.next.name))}" data-week="next">下一周 →</a>')
    form = (
        f'<form method="get" action="{CONSOLE_PATH}" style="display:inline">'
        f'<input name="week" value="{esc(r.week.name)}" size="9" pattern="\\d{{4}}-W\\d{{2}}">'
        '<button type="submit">查看</button></form>'
    )
    return f'<p class="weeks">{"".join(links)}{form}</p>'


def href(week: str, path: str = CONSOLE_PATH) -> str:
    return f"{path}?{urlencode({'week': week})}"


async def weekly_page(request: web.Request) -> web.Response:
    week = week_of(request)
    report, posted = await report_of(request, week)
    config = bot_of(request).config
    sections = [(["全部群", str(report.total.groups)], report.total.figures)] + [
        ([s.tag, str(s.groups)], s.figures) for s in report.by_tag
    ]
    groups = [([g.name, "、".join(g.tags) or "—"], g.figures) for g in report.groups]
    downloads = (
        '<p class="downloads">下载：'
        f'<a href="{esc(href(week.name, CONSOLE_PATH + ".xlsx"))}" data-export="xlsx">'
        "Excel (XLSX)</a>"
        f'<a href="{esc(href(week.name, CONSOLE_PATH + ".csv"))}" data-export="csv">CSV</a>'
        f'<span class="muted">API：GET /api/reports/weekly?week={esc(week.name)}</span></p>'
    )
    body = (
        f'{STYLE}<h1>周报 {esc(week.name)} <small class="muted">{week.monday} ~ '
        f"{week.sunday}，对比上周 {week.previous.monday} ~ {week.previous.sunday}</small></h1>"
        f'{nav_links(request, report)}<p class="muted">{esc(schedule(config))}</p>'
        f"{status(request, posted)}{downloads}"
        "<h2>汇总（括号内为与上周相比）</h2>"
        + figures_table(["范围", "群数"], sections, 'data-table="sections"')
        + f"<h2>各群（共 {len(groups)} 个）</h2>"
        + figures_table(["群", "标签"], groups, 'data-table="groups"')
        + "<h2>群里看到的消息</h2>"
        f'<pre class="post" data-post="1">{esc(compose(config, report))}</pre>'
        '<p class="muted">比率的变化以百分点计；小计把各群的人数相加后再算比率。</p>'
    )
    return page(request, f"周报 {week.name}", body)
