"""``GET /api/groups/{gid}/stats?days=N[&format=csv]`` (CONTRACT.md) and the operator reports
as JSON (``GET /api/groups/{gid}/report?days=N``). The JSON stats also give each auto-reply
rule's answers per day (``auto_reply_rules``: rule → one count per day of ``days``).

Rules: ``days`` is 1–366 (default 30); an unknown group is a 404; bad parameters are a 400
with the reason — never a traceback.
"""

from __future__ import annotations

from datetime import date

from aiohttp import web

from bot.web_public import BOT, bad_request, csv_response, int_param, iso, not_found
from handlers.autoreply import rule_hits
from handlers.checkin import board_staff
from handlers.members import inactive_members, vip_candidates
from handlers.stats.config import StatsConfig
from handlers.stats.daily import FIELDS, MAX_DAYS, daily_series
from handlers.stats.reports import group_exists


def output_format(request: web.Request) -> str:
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise bad_request("format must be json or csv")
    return fmt


async def stats_view(request: web.Request) -> web.StreamResponse:
    bot = request.app[BOT]
    gid = request.match_info["gid"]
    days = int_param(request, "days", 30, 1, MAX_DAYS)
    fmt = output_format(request)
    async with bot.db.read() as s:
        if not await group_exists(s, bot.config, gid):
            raise not_found(f"unknown group {gid}")
        series = await daily_series(s, bot.config, gid, days, bot.clock.now())
        first, last = date.fromisoformat(series[0].date), date.fromisoformat(series[-1].date)
        per_rule = await rule_hits(s, gid, first, last)
    if fmt == "csv":
        rows = ([getattr(d, f) for f in FIELDS] for d in series)
        return csv_response(f"stats-{gid}-{series[-1].date}.csv", FIELDS, rows)
    rules = {
        rule: [hits.get(date.fromisoformat(d.date), 0) for d in series]
        for rule, hits in sorted(per_rule.items())
    }
    return web.json_response(
        {"group_id": gid, "days": [d.as_dict() for d in series], "auto_reply_rules": rules}
    )


async def report_view(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    gid = request.match_info["gid"]
    cfg = bot.config.feature(StatsConfig, gid)
    days = int_param(request, "days", cfg.inactive_days, 1, 3650)
    now = bot.clock.now()
    async with bot.db.read() as s:
        if not await group_exists(s, bot.config, gid):
            raise not_found(f"unknown group {gid}")
        idle = await inactive_members(s, gid, now, days, cfg.report_limit)
        staff = board_staff(bot.config, gid)
        vips = await vip_candidates(s, gid, cfg.vip_invite_weight, cfg.report_limit, staff)
    return web.json_response(
        {
            "group_id": gid,
            "inactive": [
                {
                    "user_id": r.user_id,
                    "name": r.name,
                    "last_seen": iso(r.last_seen),
                    "idle_days": r.idle_days,
                }
                for r in idle
            ],
            "vip_candidates": [
                {
                    "user_id": v.user_id,
                    "name": v.name,
                    "checkins": v.checkins,
                    "invites": v.invites,
                    "score": v.score,
                }
                for v in vips
            ],
        }
    )


def setup_api(app: web.Application) -> None:
    app.router.add_get("/api/groups/{gid}/stats", stats_view)
    app.router.add_get("/api/groups/{gid}/report", report_view)
