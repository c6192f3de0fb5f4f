"""The weekly summary as a download: JSON, CSV or XLSX, with exactly the figures of the post.

Rules: one line for all groups (类别 全部), one per section tag (标签) and one per group (群);
for every figure of the matrix three columns: this week, last week (·上周) and the change
(·变化; rates as fractions and fraction points, as the API gives them). The XLSX shows rates as
percentages (the value stays the fraction). Text cells a spreadsheet would run as a formula
are written as text.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import xlsxwriter
from aiohttp import web

from bot.web_public import csv_response
from handlers.matrix import FIGURES, LABELS, RATES
from handlers.weekly.report import Figures, Report

FORMATS = ("json", "csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LEAD = ["类别", "名称", "群ID", "标签", "群数"]
HEADER = LEAD + [h for f in FIGURES for h in (LABELS[f], f"{LABELS[f]}·上周", f"{LABELS[f]}·变化")]


def _figures(f: Figures) -> list[Any]:
    change = f.change
    return [v for k in FIGURES for v in (f.now[k], f.before[k], change[k])]


def lines(r: Report) -> Iterator[list[Any]]:
    yield ["全部", "全部群", "", "", r.total.groups, *_figures(r.total.figures)]
    for s in r.by_tag:
        yield ["标签", s.tag, "", s.tag, s.groups, *_figures(s.figures)]
    for g in r.groups:
        yield ["群", g.name, g.id, "、".join(g.tags), 1, *_figures(g.figures)]


def filename(r: Report, ext: str) -> str:
    return f"weekly-{r.week.name}.{ext}"


def xlsx_bytes(r: Report) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False})
    bold = book.add_format({"bold": True})
    pct = book.add_format({"num_format": "0.0%"})
    rate_cols = {len(LEAD) + 3 * FIGURES.index(f) + i for f in RATES for i in range(3)}
    ws = book.add_worksheet("周报 " + r.week.name)
    ws.write_row(0, 0, HEADER, bold)
    ws.freeze_panes(1, 2)
    n = 0
    for n, line in enumerate(lines(r), start=1):
        for c, v in enumerate(line):
            if isinstance(v, str):
                ws.write_string(n, c, v)
            else:
                ws.write_number(n, c, v, pct if c in rate_cols else None)
    ws.autofilter(0, 0, max(n, 1), len(HEADER) - 1)
    book.close()
    return buf.getvalue()


def export(r: Report, fmt: str) -> web.Response:
    """``fmt`` is one of ``FORMATS``."""
    if fmt == "json":
        return web.json_response(r.as_dict())
    if fmt == "csv":
        return csv_response(filename(r, "csv"), HEADER, lines(r))
    return web.Response(
        body=xlsx_bytes(r),
        content_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename(r, "xlsx")}"'},
    )
