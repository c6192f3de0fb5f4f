"""The matrix as a download: CSV or XLSX, one row per group with exactly the API's figures.

Rules: the columns are the group's id, name and tags (joined by ``、``) and then every figure
in the API's order (``rates.FIGURES``), headed by their Chinese names; rates are the API's
fractions (the XLSX shows them as percentages, the value stays the fraction). Rows are the
matrix's groups in its order (tag filter and sort applied; never paged). The XLSX has a second
sheet with the per-tag subtotals and the total. Text cells that a spreadsheet would run as a
formula are written as text (names come from members and platforms).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import xlsxwriter
from aiohttp import web

from bot.web_public import csv_response
from handlers.matrix.logic import Matrix, Row
from handlers.matrix.rates import FIGURES, LABELS, RATES

HEADER = ["群ID", "群名", "标签", *(LABELS[f] for f in FIGURES)]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("json", "csv", "xlsx")


def cells(r: Row) -> list[Any]:
    return [r.id, r.name, "、".join(r.tags), *(r.figures[f] for f in FIGURES)]


def rows(m: Matrix) -> Iterator[list[Any]]:
    return (cells(r) for r in m.rows)


def filename(m: Matrix, ext: str) -> str:
    return f"matrix-{m.first.isoformat()}-{m.last.isoformat()}.{ext}"


def csv_export(m: Matrix) -> web.Response:
    return csv_response(filename(m, "csv"), HEADER, rows(m))


def xlsx_bytes(m: Matrix) -> bytes:
    """The workbook: 各群 (one row per group) and 按标签小计."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False})
    bold = book.add_format({"bold": True})
    pct = book.add_format({"num_format": "0.0%"})
    rate_cols = {3 + FIGURES.index(f) for f in RATES}

    def sheet(name: str, header: list[str], lines: Iterator[list[Any]]) -> None:
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, header, bold)
        ws.freeze_panes(1, 0)
        n = 0
        for n, line in enumerate(lines, start=1):
            for c, v in enumerate(line):
                if isinstance(v, str):
                    ws.write_string(n, c, v)
                else:
                    ws.write_number(n, c, v, pct if c in rate_cols else None)
        ws.autofilter(0, 0, max(n, 1), len(header) - 1)

    sheet("各群", HEADER, rows(m))
    tag_header = ["标签", "群数", "", *(LABELS[f] for f in FIGURES)]

    def tag_lines() -> Iterator[list[Any]]:
        for tag, sub in [*m.subtotals.items(), ("全部", m.total)]:
            yield [tag or "（无标签）", sub["groups"], "", *(sub[f] for f in FIGURES)]

    sheet("按标签小计", tag_header, tag_lines())
    book.close()
    return buf.getvalue()


def xlsx_export(m: Matrix) -> web.Response:
    return web.Response(
        body=xlsx_bytes(m),
        content_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename(m, "xlsx")}"'},
    )


def export(m: Matrix, fmt: str) -> web.Response:
    return xlsx_export(m) if fmt == "xlsx" else csv_export(m)
