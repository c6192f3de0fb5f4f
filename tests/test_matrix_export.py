"""The matrix's downloads and page over real HTTP: the CSV and the XLSX (API and dashboard)
have one row per group with exactly the figures ``GET /api/matrix`` gives; the page shows every
group, sorts by a column heading, groups by tag and refuses bad parameters."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from handlers.matrix.rates import FIGURES, LABELS
from tests.test_matrix_api import AUTH, Setup, setup

__all__ = ["setup"]  # the fixture, shared with tests/test_matrix_api.py
HEADER = ["群ID", "群名", "标签", *(LABELS[f] for f in FIGURES)]


async def api_rows(client: TestClient, query: str) -> list[list[Any]]:
    r = await client.get("/api/matrix" + query, headers=AUTH)
    assert r.status == 200
    return [
        [g["id"], g["name"], "、".join(g["tags"]), *(g[f] for f in FIGURES)]
        for g in (await r.json())["groups"]
    ]


def number(cell: str) -> int | float:
    return float(cell) if "." in cell else int(cell)


async def test_csv_and_xlsx_match_the_api(setup: Setup) -> None:
    _, client = setup
    for query in ("?days=7", "?days=30&tag=宝妈&sort=-members"):
        want = await api_rows(client, query)
        r = await client.get("/api/matrix" + query + "&format=csv", headers=AUTH)
        assert r.status == 200 and r.content_type == "text/csv"
        lines = list(csv.reader(io.StringIO((await r.text()).lstrip("\ufeff"))))
        assert lines[0] == HEADER
        got = [[*line[:3], *(number(c) for c in line[3:])] for line in lines[1:]]
        assert got == want
        r = await client.get("/api/matrix" + query + "&format=xlsx", headers=AUTH)
        assert r.status == 200
        book = load_workbook(io.BytesIO(await r.read()), read_only=True)
        sheet = [[c if c is not None else "" for c in row] for row in book["各群"].values]
        assert sheet[0] == HEADER and sheet[1:] == want


async def test_xlsx_subtotals_sheet(setup: Setup) -> None:
    _, client = setup
    body = await (await client.get("/api/matrix", headers=AUTH)).json()
    r = await client.get("/api/matrix?format=xlsx", headers=AUTH)
    book = load_workbook(io.BytesIO(await r.read()), read_only=True)
    rows = {row[0]: row for row in book["按标签小计"].values}
    mums = rows["宝妈"]
    assert mums[1] == 2 and list(mums[3:]) == [body["subtotals"]["宝妈"][f] for f in FIGURES]
    assert rows["全部"][1] == 3 and rows["（无标签）"][1] == 1


async def test_dashboard_downloads_are_the_same(setup: Setup) -> None:
    _, client = setup
    api = await client.get("/api/matrix?format=csv&sort=name", headers=AUTH)
    page = await client.get("/admin/matrix.csv?sort=name", headers=AUTH)
    assert page.status == 200 and await page.text() == await api.text()
    xlsx = await client.get("/admin/matrix.xlsx?tag=VIP", headers=AUTH)
    book = load_workbook(io.BytesIO(await xlsx.read()), read_only=True)
    assert [row[0] for row in book["各群"].values] == ["群ID", "g2"]


async def test_page_shows_sorts_and_groups(setup: Setup) -> None:
    _, client = setup
    r = await client.get("/admin/matrix?sort=-members", headers=AUTH)
    html = await r.text()
    assert r.status == 200
    order = re.findall(r'<tr data-group="([^"]+)"', html)
    assert order == ["g1", "g2", "g3"]  # 2, 2, 1 members: ties keep the listed order
    assert 'data-sort="members" class="on"' in html and "sort=members" in html  # flips
    assert 'data-export="xlsx"' in html and "/admin/matrix.xlsx?sort=-members" in html
    assert 'data-field="leave_rate">33.3%<' in html
    grouped = await (await client.get("/admin/matrix?group_by=tag", headers=AUTH)).text()
    sections = re.findall(r'<tr class="sub" data-tag="([^"]+)"|<tr data-group="([^"]+)"', grouped)
    assert [a or b for a, b in sections] == ["宝妈", "g1", "g2", "VIP", "g2", "（无标签）", "g3"]
    asc = await (await client.get("/admin/matrix?sort=members", headers=AUTH)).text()
    assert re.findall(r'<tr data-group="([^"]+)"', asc) == ["g3", "g1", "g2"]


async def test_page_bad_parameters(setup: Setup) -> None:
    _, client = setup
    for query in ("?sort=x", "?days=999", "?tag=没有", "?group_by=x", "?page=5"):
        r = await client.get("/admin/matrix" + query, headers=AUTH)
        assert r.status == 400, query
