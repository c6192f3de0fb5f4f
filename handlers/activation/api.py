"""The activation API (same bearer token as every ``/api`` route).

- ``GET /api/activation?week=YYYY-MM-DD`` → the week's plan (Monday..Sunday holding that
  day; default this week): each plan's rule, group, day, reason and figures, and each
  action's kind, time, status, channel, who skipped it, and its effect once known.
- ``POST /api/activation/plans/{plan}/actions/{idx}/skip`` → 200 with the action, or 409
  when it is no longer planned (done, skipped, missed), 404 when there is none.

Bad input is 400 ``{"error"}`` and changes nothing.
"""

from __future__ import annotations

import re

from aiohttp import web

from bot.web_public import actor, bad_request, bot_of, not_found, record_change
from handlers.activation.repo import Plans
from handlers.activation.week import parse_week, week_view


async def get_week(request: web.Request) -> web.Response:
    bot = bot_of(request)
    now = bot.clock.now()
    try:
        monday = parse_week(
            request.query.get("week", ""), now.astimezone(bot.config.timezone(None)).date()
        )
    except ValueError:
        raise bad_request("week must be a date YYYY-MM-DD") from None
    async with bot.db.read() as s:
        return web.json_response(await week_view(s, bot.config, monday, now))


class NotPlanned(Exception):
    """The action is done, skipped or missed already."""


async def skip(request: web.Request, plan_id: int, idx: int) -> str:
    """Skip a planned action as the request's staff member; returns its group. Raises
    HTTPNotFound or NotPlanned (nothing changed)."""
    bot = bot_of(request)
    async with bot.db.transaction() as s:
        plans = Plans(s)
        found = await plans.action(plan_id, idx)
        if found is None:
            raise not_found("no such action")
        plan, a = found
        by = actor(request)
        if not await plans.move(plan_id, idx, "skipped", bot.clock.now(), by=by):
            raise NotPlanned(a.status)
        record_change(
            s,
            request,
            "activation.skip",
            f"{plan_id}:{idx}",
            group_id=a.group_id,
            rule=plan.rule,
            kind=a.kind,
        )
    return a.group_id


def ids(request: web.Request) -> tuple[int, int]:
    raw_p, raw_i = request.match_info["plan"], request.match_info["idx"]
    if not re.fullmatch(r"\d{1,12}", raw_p) or not re.fullmatch(r"\d{1,2}", raw_i):
        raise bad_request("plan and idx must be whole numbers")
    return int(raw_p), int(raw_i)


async def post_skip(request: web.Request) -> web.Response:
    plan_id, idx = ids(request)
    try:
        await skip(request, plan_id, idx)
    except NotPlanned as exc:
        return web.json_response({"error": f"the action is {exc} already"}, status=409)
    return web.json_response({"plan": plan_id, "idx": idx, "status": "skipped"})


def setup_api(app: web.Application) -> None:
    app.router.add_get("/api/activation", get_week)
    app.router.add_post("/api/activation/plans/{plan}/actions/{idx}/skip", post_skip)
