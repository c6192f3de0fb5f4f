"""``/admin/matrix`` (群矩阵): every group's figures side by side, filtered by a tag, sorted by
any column, grouped by tag, with per-tag subtotals and one download for all groups.

Rules: the page reads the same matrix as ``GET /api/matrix`` (same parameters: ``tag``,
``days``, ``sort``, ``group_by=tag``) and shows ``per_page`` groups (10–200, default 50) of page
``page``. A column's heading sorts by it, largest first; again, smallest first. Grouped by tag,
each tag is a section headed by its subtotal with its first ``per_page`` groups in the sorted
order and a link to the tag's own view. The downloads (``/admin/matrix.csv``,
``/admin/matrix.xlsx``) carry the filter and sort and hold every group the filter keeps. Bad
parameters are a 400 naming the parameter. Everything shown is escaped.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.web_public import bad_request, bot_of, cards, esc, int_param, page
from handlers.matrix.api import matrix_of
from handlers.matrix.export import export
from handlers.matrix.logic import Matrix, Row, parse_sort, tags_in_use
from handlers.matrix.rates import FIGURES, LABELS, RATES

PATH = "/admin/matrix"
PER_PAGE = 50
DAY_CHOICES = (1, 7, 14, 30, 90)
STYLE = (
    "<style>form.filter{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:center;"
    "background:#fff;padding:.8rem 1rem;border-radius:8px;box-shadow:0 1px 2px #0001}"
    "th a{color:inherit;text-decoration:none}th a.on{color:#1f6feb}"
    "tr.sub td{background:#eef3fb;font-weight:600}.tags{color:#57606a;font-size:.85em}"
    "p.downloads a{margin-right:1rem}</style>"
)


def shown(key: str, value: Any) -> str:
    if key in RATES:
        return f"{float(value) * 100:.1f}%"
    if key == "net_growth":
        return f"{int(value):+d}"
    return str(value)


def href(q: dict[str, Any], **change: Any) -> str:
    query = {k: v for k, v in {**q, **change}.items() if v not in ("", None)}
    return f"{PATH}?{urlencode(query)}" if query else PATH


def head(q: dict[str, Any]) -> str:
    key, desc = parse_sort(q.get("sort", ""))
    cells = ["<th>群</th>", "<th>标签</th>"]
    for f in FIGURES:
        on = f == key
        arrow = (" ↓" if desc else " ↑") if on else ""
        flip = f if on and desc else f"-{f}"
        a = f'<a href="{esc(href(q, sort=flip, page=""))}" data-sort="{f}"'
        a += ' class="on"' if on else ""
        cells.append(f'<th class="num">{a}>{esc(LABELS[f])}{esc(arrow)}</a></th>')
    return "<tr>" + "".join(cells) + "</tr>"


def group_row(r: Row) -> str:
    name = f'<a href="/admin/groups/{esc(quote(r.id, safe=""))}">{esc(r.name)}</a>'
    tags = f'<span class="tags">{esc("、".join(r.tags) or "—")}</span>'
    nums = "".join(
        f'<td class="num" data-field="{f}">{esc(shown(f, r.figures[f]))}</td>' for f in FIGURES
    )
    return f'<tr data-group="{esc(r.id)}"><td>{name}</td><td>{tags}</td>{nums}</tr>'


def sub_row(label: str, sub: dict[str, Any], link: str = "") -> str:
    title = f'<a href="{esc(link)}">{esc(label)}</a>' if link else esc(label)
    nums = "".join(f'<td class="num">{esc(shown(f, sub[f]))}</td>' for f in FIGURES)
    return (
        f'<tr class="sub" data-tag="{esc(label)}"><td>{title}</td>'
        f'<td class="tags">{sub["groups"]} 个群</td>{nums}</tr>'
    )


def grid(q: dict[str, Any], body: str) -> str:
    return (
        f'<div class="scroll"><table data-table="matrix"><thead>{head(q)}</thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def by_tag(m: Matrix, q: dict[str, Any], per_page: int) -> str:
    parts = []
    for tag, sub in m.subtotals.items():
        label = tag or "（无标签）"
        rows = [r for r in m.rows if (tag in r.tags if tag else not r.tags)]
        parts.append(sub_row(label, sub, href(q, tag=tag, group_by="") if tag else ""))
        parts += [group_row(r) for r in rows[:per_page]]
        if len(rows) > per_page:
            more = f"还有 {len(rows) - per_page} 个群，打开该标签查看全部"
            parts.append(
                f'<tr><td colspan="{len(FIGURES) + 2}" class="muted">{esc(more)}</td></tr>'
            )
    return grid(q, "".join(parts))


def filters(m: Matrix, q: dict[str, Any], tags: list[str]) -> str:
    options = ['<option value="">全部标签</option>'] + [
        f'<option value="{esc(t)}"{" selected" if t == q.get("tag") else ""}>{esc(t)}</option>'
        for t in tags
    ]
    days = "".join(
        f'<option value="{d}"{" selected" if d == m.days else ""}>近 {d} 天</option>'
        for d in sorted({*DAY_CHOICES, m.days})
    )
    grouped = " checked" if q.get("group_by") == "tag" else ""
    return (
        f'<form class="filter" method="get" action="{PATH}">'
        f'<label>标签 <select name="tag">{"".join(options)}</select></label>'
        f'<label>时间 <select name="days">{days}</select></label>'
        f'<label><input type="checkbox" name="group_by" value="tag"{grouped}> 按标签分组</label>'
        f'<input type="hidden" name="sort" value="{esc(q.get("sort", ""))}">'
        '<button type="submit">查看</button></form>'
    )


def pager(q: dict[str, Any], number: int, pages: int) -> str:
    steps = (("首页", 1), ("上一页", number - 1), ("下一页", number + 1), ("末页", pages))
    links = [
        f'<a href="{esc(href(q, page=n))}" data-page="{n}">{label}</a>'
        for label, n in steps
        if 1 <= n <= pages and n != number
    ]
    where = f'<span class="muted">第 {number} / {pages} 页</span>'
    return f'<p class="pager">{where} {" ".join(links)}</p>'


async def matrix_page(request: web.Request) -> web.Response:
    q = {k: request.query.get(k, "") for k in ("tag", "days", "sort", "group_by")}
    if q["group_by"] not in ("", "tag"):
        raise bad_request("group_by must be tag (or absent)")
    per_page = int_param(request, "per_page", PER_PAGE, 10, 200)
    m = await matrix_of(request)
    bot = bot_of(request)
    async with bot.db.read() as s:
        every = await tags_in_use(s, bot.config)
    t = m.total
    summary = cards(
        [
            ("群数", t["groups"], "groups"),
            ("成员", t["members"], "members"),
            ("净增", shown("net_growth", t["net_growth"]), "net_growth"),
            ("退群率", shown("leave_rate", t["leave_rate"]), "leave_rate"),
            ("活跃率", shown("active_rate", t["active_rate"]), "active_rate"),
            ("签到率", shown("checkin_rate", t["checkin_rate"]), "checkin_rate"),
            ("帖子触达率", shown("post_reach", t["post_reach"]), "post_reach"),
            ("发送失败", t["dead_letters"], "dead_letters"),
        ]
    )
    down = {k: v for k, v in q.items() if k != "group_by" and v}
    downloads = (
        '<p class="downloads">导出全部群：'
        f'<a href="{esc(PATH + ".csv?" + urlencode(down))}" data-export="csv">CSV</a>'
        f'<a href="{esc(PATH + ".xlsx?" + urlencode(down))}" data-export="xlsx">'
        "Excel (XLSX)</a></p>"
    )
    if q["group_by"] == "tag":
        table = by_tag(m, q, per_page)
        paging = ""
    else:
        pages = max(1, -(-len(m.rows) // per_page))
        number = int_param(request, "page", 1, 1, pages)
        chosen = m.rows[(number - 1) * per_page : number * per_page]
        subs = "".join(
            sub_row(tag or "（无标签）", sub, href(q, tag=tag) if tag else "")
            for tag, sub in m.subtotals.items()
        )
        table = "<h2>按标签小计</h2>" + grid(q, subs)
        table += f"<h2>各群（共 {len(m.rows)} 个）</h2>" + grid(
            q, "".join(group_row(r) for r in chosen)
        )
        paging = pager(q, number, pages) if pages > 1 else ""
    note = (
        '<p class="muted">退群率 = 退群 ÷（期末成员 + 退群）；'
        "活跃率、签到率、帖子触达率以期末成员为分母；"
        "小计把各群的人数相加后再算比率。数字最多每分钟更新一次。</p>"
    )
    body = (
        f'{STYLE}<h1>群矩阵 <small class="muted">{m.first} ~ {m.last}</small></h1>'
        f"{filters(m, q, every)}{summary}{downloads}{table}{paging}{note}"
    )
    return page(request, "群矩阵", body)


async def export_page(request: web.Request) -> web.Response:
    """``/admin/matrix.csv`` and ``/admin/matrix.xlsx``: the download of the page's matrix."""
    fmt = "xlsx" if request.path.endswith(".xlsx") else "csv"
    return export(await matrix_of(request), fmt)
