"""``GET /api/groups/{gid}/programme?from=ISO&to=ISO`` and ``groupbot programme show``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from aiohttp import web

from bot import Config, ConfigLoader, database
from bot.web_public import BOT, bad_request, not_found
from handlers.groupmsg import states_for
from handlers.programme.cancel import cancel
from handlers.programme.caps import excesses, week_months
from handlers.programme.slots import due, load_overrides, occurrence_key
from handlers.programme.table import format_rows, monday_of, week, with_status

MAX_RANGE = timedelta(days=62)


async def programme_view(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    gid = request.match_info["gid"]
    if bot.config.group(gid) is None:
        raise not_found(f"unknown group {gid}")
    try:
        now = bot.clock.now()
        start = (
            datetime.fromisoformat(request.query.get("from", ""))
            if "from" in request.query
            else now
        )
        end = (
            datetime.fromisoformat(request.query["to"])
            if "to" in request.query
            else start + timedelta(days=7)
        )
    except ValueError as exc:
        raise bad_request("from/to must be ISO 8601 timestamps") from exc
    tz = bot.config.timezone(gid)
    start = start if start.tzinfo else start.replace(tzinfo=tz)
    end = end if end.tzinfo else end.replace(tzinfo=tz)
    if not start < end or end - start > MAX_RANGE:
        raise bad_request("to must be after from, at most 62 days later")
    async with bot.db.read() as s:
        occs = due(bot.config, start, end, gid, await load_overrides(s))
        rows = await with_status(s, occs, bot.clock.now())
        keys = [occurrence_key(o.slot.id, o.group_id, o.at.astimezone(UTC)) for o, _ in rows]
        delivery = await states_for(s, keys)
    out = []
    for (o, st), key in zip(rows, keys, strict=True):
        channel, state, reason = delivery.get(key, ("post", "", ""))
        item: dict[str, str | None] = {"slot": o.slot.id, "theme": o.slot.theme}
        item["at"] = o.at.astimezone(tz).isoformat()
        # channel: post (robot, bridge) | groupmsg (企业群发) | reminder (staff reminder);
        # delivery: a customer group's state (waiting_owner, sent, already_received, …)
        item |= {"status": st, "channel": channel, "delivery": state or None}
        if reason:
            item["reason"] = reason
        out.append(item)
    return web.json_response({"occurrences": out})


async def cancel_occurrence(request: web.Request) -> web.Response:
    """``DELETE /api/programme/occurrences?slot=ID&at=ISO``: cancel one occurrence of a slot
    in every group (see ``cancel.py``); 200 ``{"groups": N, "cancelled": M}``."""
    bot = request.app[BOT]
    slot = request.query.get("slot", "")
    try:
        at = datetime.fromisoformat(request.query.get("at", ""))
    except ValueError as exc:
        raise bad_request("at must be an ISO 8601 timestamp with its offset") from exc
    if at.tzinfo is None:
        raise bad_request("at must carry its offset (e.g. 2026-11-18T10:00:00+08:00)")
    found = await cancel(bot, slot, at.astimezone(UTC))
    if found is None:
        raise not_found(f"slot {slot} has no occurrence at {at.isoformat()}")
    return web.json_response({"groups": found[0], "cancelled": found[1]})


def setup_web(app: web.Application) -> None:
    app.router.add_get("/api/groups/{gid}/programme", programme_view)
    app.router.add_delete("/api/programme/occurrences", cancel_occurrence)


def cmd_show(args: argparse.Namespace, load: ConfigLoader) -> int:
    config = load(args.config)
    if args.group and config.group(args.group) is None:
        print(f"--group: unknown group {args.group}", file=sys.stderr)
        return 2
    try:
        day = (
            date.fromisoformat(args.week)
            if args.week
            else datetime.now(config.timezone(args.group)).date()
        )
    except ValueError:
        print("--week: must be YYYY-MM-DD", file=sys.stderr)
        return 2
    rows = asyncio.run(_week_with_status(config, args.group, monday_of(day)))
    print(f"{'date       day time ':<21} group  theme  [status]  content")
    for line in format_rows(config, rows, chinese=False):
        print(line)
    if not rows:
        print("(no occurrences this week)")
    for e in excesses(config, week_months(monday_of(day)), args.group):
        print(f"warning: {e.english()}")
    return 0


async def _week_with_status(config: Config, group: str | None, monday: date) -> list[Any]:
    """The week, with statuses from the database when it exists (else the bot never ran
    there: what is past is before its start, the rest pending)."""
    now = datetime.now(UTC)
    try:
        async with database(config, migrate=False) as db, db.read() as s:
            return await week(config, s, group, monday, now)
    except Exception:  # no database yet, or not migrated: the plan alone
        return await week(config, None, group, monday, now)


def register_cli(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], load: ConfigLoader
) -> None:
    p = sub.add_parser("programme", help="the programme table (节目表)")
    psub = p.add_subparsers(dest="programme_command", required=True, parser_class=type(p))
    show = psub.add_parser("show", help="print a week's occurrences")
    show.add_argument("-c", "--config", required=True)
    show.add_argument("--group")
    show.add_argument("--week", help="any date in the week (YYYY-MM-DD); default this week")
    show.set_defaults(func=partial(cmd_show, load=load))
