"""JSON API (CONTRACT.md): the member view and the leaderboards (``format=csv`` for a
download). Both combine check-ins, invites, warnings and tags, so they read each feature
through its package (``handlers.checkin``, ``handlers.referral``, ``handlers.rules``,
``handlers.members``)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.web_public import BOT, bad_request, csv_response, not_found
from handlers.checkin import checkin_board, member_checkins
from handlers.members import member_tags
from handlers.referral import invite_counts, invite_leaderboard
from handlers.rules import warning_count
from storage.models import Member

API_BOARDS = {
    "checkin": "total",
    "points": "points",
    "streak": "streak",
    "month": "month",
    "today": "today",
}


async def member_view(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    gid, uid = request.match_info["gid"], request.match_info["uid"]
    now = bot.clock.now()
    async with bot.db.read() as s:
        member = await s.get(Member, (gid, uid))
        if member is None:
            raise not_found("member never seen in this group")
        c = await member_checkins(s, bot.config, gid, uid, now)
        invites = await invite_counts(s, gid, uid)
        warnings = await warning_count(s, gid, uid, now)
        tags = await member_tags(s, gid, uid)
    return web.json_response(
        {
            "group_id": gid,
            "user_id": uid,
            "name": member.name,
            "in_group": member.in_group,
            "checkins": {
                "total": c.total,
                "streak": c.streak,
                "last_date": c.last_day.isoformat() if c.last_day else None,
            },
            "points": c.points,
            "invites": invites,
            "warnings": warnings,
            "tags": tags,
        }
    )


async def leaderboard_view(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    gid = request.match_info["gid"]
    board = request.query.get("board", "checkin")
    try:
        limit = int(request.query.get("limit", "10"))
    except ValueError as exc:
        raise bad_request("limit must be a number") from exc
    if not 1 <= limit <= 1000:
        raise bad_request("limit must be between 1 and 1000")
    if board != "invites" and board not in API_BOARDS:
        raise bad_request("board must be checkin, invites or points")
    if request.query.get("format", "json") not in ("json", "csv"):
        raise bad_request("format must be json or csv")
    async with bot.db.read() as s:
        if board == "invites":
            rows = await invite_leaderboard(s, gid, limit)
        else:
            rows = await checkin_board(
                s, bot.config, gid, API_BOARDS[board], limit, bot.clock.now()
            )
        known = await s.scalar(select(Member.user_id).where(Member.group_id == gid).limit(1))
    if not rows and known is None and bot.config.group(gid) is None:
        raise not_found(f"unknown group {gid}")
    if request.query.get("format", "json") == "csv":
        lines = ((i, u, n, v) for i, (u, n, v) in enumerate(rows, 1))
        return csv_response(f"{board}-{gid}.csv", ["rank", "user_id", "name", "value"], lines)
    return web.json_response(
        {
            "board": board,
            "entries": [
                {"rank": i, "user_id": u, "name": n, "value": v}
                for i, (u, n, v) in enumerate(rows, 1)
            ],
        }
    )


def setup_members_api(app: web.Application) -> None:
    app.router.add_get("/api/groups/{gid}/members/{uid}", member_view)
    app.router.add_get("/api/groups/{gid}/leaderboard", leaderboard_view)
