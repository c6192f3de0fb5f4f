"""The guided actions' API (same bearer token as every ``/api`` route).

- ``GET /api/groups/{gid}/actions/{kind}`` (``cleanup`` | ``promote``) → the dry run:
  ``{"kind", "group_id", "digest", "day", "cap", "used", "can_act", "target_group", "link",
  "blocked", "candidates": [{"user_id", "name", "figure"}]}``. Nothing changes.
- ``POST …/actions/{kind}`` ``{"digest": "...", "user_ids": [...]?}`` → 201 ``{"id",
  "members"}`` (200 with the same run when this confirmation was made before); 409 when the
  list changed since the dry run or today's cap would be passed; 400 for bad input. Nothing
  is stored unless it is 200/201.
- ``GET /api/actions/{id}`` → the run: each member's state (``pending``, ``kicked``,
  ``invited``, ``listed``, ``skipped``, ``joined``), counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from bot.web_public import bad_request, bot_of, json_body, not_found
from handlers.members.actions import KINDS, dry_run
from handlers.members.execute import start
from handlers.members.runs import Changed, OverCap, Refused, confirm, report

MAX_CHOSEN = 500


def _kind(request: web.Request) -> tuple[str, str]:
    kind = request.match_info["kind"]
    if kind not in KINDS:
        raise not_found("kind must be cleanup or promote")
    return request.match_info["gid"], kind


async def _known_group(request: web.Request, gid: str) -> None:
    bot = bot_of(request)
    if bot.config.group(gid) is None and bot.config.group_mode(gid) != "manage":
        raise not_found(f"unknown group {gid}")


async def get_dry_run(request: web.Request) -> web.Response:
    gid, kind = _kind(request)
    await _known_group(request, gid)
    bot = bot_of(request)
    async with bot.db.read() as s:
        dr = await dry_run(s, bot.config, kind, gid, bot.clock.now())
    return web.json_response(
        {
            "kind": kind,
            "group_id": gid,
            "digest": dr.digest,
            "day": dr.day.isoformat(),
            "cap": dr.cap,
            "used": dr.used,
            "can_act": dr.can_act,
            "target_group": dr.target_group,
            "link": dr.link,
            "blocked": dr.blocked,
            "candidates": [
                {"user_id": c.user_id, "name": c.name, "figure": c.figure} for c in dr.candidates
            ],
        }
    )


def chosen_of(data: dict[str, Any]) -> tuple[str, list[str]]:
    """(digest, chosen members) from a confirmation body (400 naming the field)."""
    digest = data.get("digest")
    if not isinstance(digest, str) or len(digest) != 64:
        raise bad_request("digest: the digest of the dry run (64 hex characters)")
    ids = data.get("user_ids", [])
    if not isinstance(ids, list) or len(ids) > MAX_CHOSEN:
        raise bad_request(f"user_ids must be a list of at most {MAX_CHOSEN} member ids")
    if not all(isinstance(u, str) and 0 < len(u) <= 128 for u in ids):
        raise bad_request("user_ids must be member ids")
    return digest, ids


async def run_confirmed(
    request: web.Request, gid: str, kind: str, digest: str, chosen: Sequence[str], actor: str
) -> tuple[int, bool]:
    """Store the run and start it: (id, new). Raises Refused, Changed or OverCap."""
    bot = bot_of(request)
    async with bot.db.transaction() as s:
        run_id, new = await confirm(
            s,
            bot.config,
            kind=kind,
            gid=gid,
            digest=digest,
            chosen=chosen,
            actor=actor,
            now=bot.clock.now(),
        )
    if new:
        await start(bot, run_id, gid)
    return run_id, new


def _error(status: int, reason: str) -> web.Response:
    body = json.dumps({"error": reason}, ensure_ascii=False)
    return web.Response(status=status, text=body, content_type="application/json")


async def post_confirm(request: web.Request) -> web.Response:
    gid, kind = _kind(request)
    await _known_group(request, gid)
    digest, chosen = chosen_of(await json_body(request))
    try:
        run_id, new = await run_confirmed(request, gid, kind, digest, chosen, "api")
    except Refused as exc:
        return _error(400, str(exc))
    except (Changed, OverCap) as exc:
        return _error(409, str(exc))
    async with bot_of(request).db.read() as s:
        view = await report(s, run_id)
    assert view is not None
    return web.json_response(
        {"id": run_id, "members": len(view.members)}, status=201 if new else 200
    )


async def get_run(request: web.Request) -> web.Response:
    raw = request.match_info["rid"]
    if not raw.isdigit() or len(raw) > 12:
        raise not_found("no such run")
    async with bot_of(request).db.read() as s:
        view = await report(s, int(raw))
    if view is None:
        raise not_found("no such run")
    return web.json_response(view.as_json())


def setup_actions_api(app: web.Application) -> None:
    app.router.add_get("/api/groups/{gid}/actions/{kind}", get_dry_run)
    app.router.add_post("/api/groups/{gid}/actions/{kind}", post_confirm)
    app.router.add_get("/api/actions/{rid}", get_run)
