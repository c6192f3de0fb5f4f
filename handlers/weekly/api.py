"""``GET /api/reports/weekly?week=YYYY-Www[&format=json|csv|xlsx]`` (bearer token, as every
``/api`` route) and the console's downloads ``/admin/weekly.csv`` / ``.xlsx`` (staff session).

Rules: ``week`` is an ISO week (default: the latest full week, bot timezone); a week that has
not ended yet, or a malformed one, is a 400 naming ``week``; ``format`` defaults to json. The
summary is computed from the stored data at each request (``WeeklyPosts.report``) — the same
function the post is made with — and the JSON says whether and where the week was posted
(``posted``). Nothing is ever changed.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web_public import bad_request, bot_of, iso
from handlers.weekly.export import FORMATS, export
from handlers.weekly.repo import Posted, WeeklyPosts
from handlers.weekly.report import Report
from handlers.weekly.weeks import BadWeek, Week, ended, last_full_week, parse_week


def week_of(request: web.Request) -> Week:
    """The ``week`` the request asks for (400 otherwise)."""
    bot = bot_of(request)
    tz, now = bot.config.timezone(None), bot.clock.now()
    raw = request.query.get("week", "").strip()
    try:
        week = parse_week(raw) if raw else last_full_week(now, tz)
    except BadWeek as e:
        raise bad_request(str(e)) from None
    if not ended(week, now, tz):
        latest = last_full_week(now, tz).name
        raise bad_request(f"week: {week.name} has not ended yet (the latest full week: {latest})")
    return week


async def report_of(request: web.Request, week: Week) -> tuple[Report, Posted | None]:
    bot = bot_of(request)
    async with bot.db.read() as s:
        posts = WeeklyPosts(s)
        return await posts.report(bot.config, bot.clock.now(), week), await posts.posted(week.name)


def posted_dict(p: Posted | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"at": iso(p.posted_at), "due_at": iso(p.due_at), "targets": list(p.targets)}


def format_of(request: web.Request, default: str = "json") -> str:
    fmt = request.query.get("format", default)
    if fmt not in FORMATS:
        raise bad_request("format must be json, csv or xlsx")
    return fmt


async def weekly_view(request: web.Request) -> web.Response:
    fmt = format_of(request)
    report, posted = await report_of(request, week_of(request))
    if fmt != "json":
        return export(report, fmt)
    return web.json_response({**report.as_dict(), "posted": posted_dict(posted)})


async def download_page(request: web.Request) -> web.Response:
    """``/admin/weekly.csv`` and ``/admin/weekly.xlsx``: the week's download."""
    fmt = "xlsx" if request.path.endswith(".xlsx") else "csv"
    report, _ = await report_of(request, week_of(request))
    return export(report, fmt)


def setup_api(app: web.Application) -> None:
    app.router.add_get("/api/reports/weekly", weekly_view)
