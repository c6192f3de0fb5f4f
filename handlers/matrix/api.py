"""``GET /api/matrix?tag=&days=&group_by=tag&sort=&page=&per_page=[&format=csv|xlsx]`` (bearer
token, as every ``/api`` route).

Rules: ``days`` 1–366 (default 7); ``tag`` keeps the groups carrying it; ``sort`` is a figure
(``-figure`` descending) or ``name``; ``group_by=tag`` adds ``by_tag``: each tag with its
groups' ids (in the sorted order) and its subtotal. ``per_page`` (1–1000) with ``page`` (from 1)
gives one page of the sorted groups; without it every group is in the answer. ``subtotals`` and
``total`` always cover every group the filter keeps, whatever the page. Bad parameters are a
400 naming the parameter; nothing is ever changed. ``format=csv|xlsx`` is the download of
every group the filter keeps (``handlers.matrix.export``; paging does not apply). Every
group's figures are read at most once per ``[matrix] cache_s`` (60 s) and shared by the
requests in between.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import StateKey
from bot.web_public import bad_request, bot_of, int_param
from handlers.matrix.config import MatrixConfig
from handlers.matrix.export import FORMATS, export
from handlers.matrix.figures import Counts
from handlers.matrix.logic import MAX_DAYS, BadInput, Matrix, Reuse, build

DEFAULT_DAYS = 7
MAX_PER_PAGE = 1000
KEPT: StateKey[dict[tuple[Any, ...], tuple[float, dict[str, Counts]]]] = StateKey(
    "matrix.kept", dict
)


async def matrix_of(request: web.Request) -> Matrix:
    """The matrix the request's ``tag``, ``days`` and ``sort`` ask for (400 otherwise)."""
    bot = bot_of(request)
    days = int_param(request, "days", DEFAULT_DAYS, 1, MAX_DAYS)
    ttl = bot.config.feature(MatrixConfig).cache_s
    reuse = Reuse(bot.services.state.need(KEPT), bot.clock.monotonic(), ttl)
    try:
        async with bot.db.read() as s:
            return await build(
                s,
                bot.config,
                bot.clock.now(),
                days=days,
                tag=request.query.get("tag", "").strip(),
                sort=request.query.get("sort", ""),
                reuse=reuse,
            )
    except BadInput as e:
        raise bad_request(str(e)) from None


def grouped(m: Matrix) -> list[dict[str, Any]]:
    """``by_tag``: each tag ("" = none), its groups' ids in the rows' order, its subtotal."""
    ids: dict[str, list[str]] = {t: [] for t in m.subtotals}
    for r in m.rows:
        for t in r.tags or ("",):
            ids[t].append(r.id)
    return [{"tag": t, "groups": ids[t], "subtotal": m.subtotals[t]} for t in m.subtotals]


async def matrix_view(request: web.Request) -> web.Response:
    group_by = request.query.get("group_by", "")
    if group_by not in ("", "tag"):
        raise bad_request("group_by must be tag (or absent)")
    fmt = request.query.get("format", "json")
    if fmt not in FORMATS:
        raise bad_request("format must be json, csv or xlsx")
    m = await matrix_of(request)
    if fmt != "json":
        return export(m, fmt)
    rows = m.rows
    body: dict[str, Any] = {
        "from": m.first.isoformat(),
        "to": m.last.isoformat(),
        "days": m.days,
        "count": len(rows),
    }
    if "per_page" in request.query:
        per_page = int_param(request, "per_page", 50, 1, MAX_PER_PAGE)
        pages = max(1, -(-len(rows) // per_page))
        number = int_param(request, "page", 1, 1, pages)
        rows = rows[(number - 1) * per_page : number * per_page]
        body.update(page=number, pages=pages, per_page=per_page)
    body["groups"] = [r.as_dict() for r in rows]
    body["subtotals"] = m.subtotals
    body["total"] = m.total
    if group_by == "tag":
        body["by_tag"] = grouped(m)
    return web.json_response(body)


def setup_api(app: web.Application) -> None:
    app.router.add_get("/api/matrix", matrix_view)
