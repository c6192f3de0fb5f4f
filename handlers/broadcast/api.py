"""The broadcast API (same bearer token as every ``/api`` route).

- ``POST /api/broadcasts`` ``{"targets": [...], "text"|"markdown": "...", "image": "https://…"?,
  "at": ISO?}`` (an image alone, or after the text as its caption) →
  201 ``{"id", "groups"}``; an optional ``Idempotency-Key`` header makes a
  retried request return the same broadcast (409 when the key was used for another one).
- ``POST /api/broadcasts/preview`` (same body) → 200 ``{"groups": [{"group_id", "name",
  "text"|"error", "image"?}]}``: each group's text as it would go now; nothing is stored.
- ``GET /api/broadcasts?limit=&before=`` → the newest first, paged by id.
- ``GET /api/broadcasts/{id}`` → the report: each group's state and reason, the counts.
- ``DELETE /api/broadcasts/{id}`` → takes back what has not gone; 200 with the report.

Bad input is 400 ``{"error", "field"}`` and stores nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from bot import group_tags
from bot.web_public import bot_of, int_param, json_body, not_found, record_change
from handlers.broadcast import repo
from handlers.broadcast.fanout import start
from handlers.broadcast.logic import (
    BadInput,
    RenderError,
    Request,
    fingerprint,
    parse_request,
    render,
    values_for,
)
from handlers.broadcast.targets import Known, resolve

KEY_RE = re.compile(r"[\x21-\x7e]{1,200}")  # printable ASCII, no spaces


def refused(exc: BadInput) -> web.HTTPBadRequest:
    body = {"error": str(exc), "field": exc.field}
    return web.HTTPBadRequest(
        text=json.dumps(body, ensure_ascii=False), content_type="application/json"
    )


async def checked(
    request: web.Request, data: dict[str, Any]
) -> tuple[Request, list[str], dict[str, Known]]:
    """The request, its groups and the stored groups, or BadInput."""
    bot = bot_of(request)
    req = parse_request(data, bot.clock.now())
    async with bot.db.read() as s:
        known = await repo.known_groups(s)
        tags = await group_tags(s, bot.config, [*(g.id for g in bot.config.groups), *known])
    return req, resolve(bot.config, known, tags, req.targets), known


async def submit_broadcast(
    request: web.Request, data: dict[str, Any], idem_key: str | None
) -> tuple[int, int]:
    """Store a broadcast (fanning it out at once when it is for now): (id, groups).
    A key already used for the same body returns that broadcast as it is. Raises BadInput or
    repo.Conflict."""
    bot = bot_of(request)
    key = (idem_key, fingerprint(data)) if idem_key else None
    if key is not None:
        async with bot.db.read() as s:
            found = await repo.by_key(s, *key)
        if found is not None:  # (a retry: answered before the checks, which time may change)
            return found
    req, gids, _known = await checked(request, data)
    async with bot.db.transaction() as s:
        bid, n = await repo.create(s, req, gids, key, bot.clock.now())
        record_change(s, request, "broadcast.create", str(bid), targets=list(req.targets), groups=n)
    if req.at is None:
        await start(bot, bid)
    return bid, n


async def post_broadcast(request: web.Request) -> web.Response:
    data = await json_body(request)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not KEY_RE.fullmatch(key):
        raise refused(BadInput("Idempotency-Key", "1 to 200 printable ASCII characters"))
    try:
        bid, n = await submit_broadcast(request, data, key)
    except BadInput as exc:
        raise refused(exc) from None
    except repo.Conflict as exc:
        return web.json_response({"error": str(exc), "field": "Idempotency-Key"}, status=409)
    return web.json_response({"id": bid, "groups": n}, status=201)


async def preview(request: web.Request, data: dict[str, Any]) -> list[dict[str, str]]:
    """Each group's text as it would go now (or why it cannot)."""
    bot = bot_of(request)
    req, gids, known = await checked(request, data)
    now = bot.clock.now()
    out: list[dict[str, str]] = []
    for gid in gids:
        g, seen = bot.config.group(gid), known.get(gid)
        name = (g.name if g else "") or (seen.name if seen else "")
        line = {"group_id": gid, "name": name}
        if seen is not None and not seen.active:
            line["error"] = "inactive"
        else:
            local = now.astimezone(bot.config.timezone(gid))
            try:
                values = values_for(name, gid, bot.config.bot.name, local)
                line["text"] = render(req.text, values) if req.text else ""
            except RenderError as exc:
                line["error"] = str(exc)
        if req.image:
            line["image"] = req.image
        out.append(line)
    return out


async def post_preview(request: web.Request) -> web.Response:
    try:
        groups = await preview(request, await json_body(request))
    except BadInput as exc:
        raise refused(exc) from None
    return web.json_response({"groups": groups})


def broadcast_id(request: web.Request) -> int:
    raw = request.match_info["bid"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise not_found(f"unknown broadcast {raw[:40]}")
    return int(raw)


async def get_broadcast(request: web.Request) -> web.Response:
    bot = bot_of(request)
    bid = broadcast_id(request)
    async with bot.db.read() as s:
        body = await repo.report(s, bid)
    if body is None:
        raise not_found(f"unknown broadcast {bid}")
    return web.json_response(body)


async def list_broadcasts(request: web.Request) -> web.Response:
    bot = bot_of(request)
    limit = int_param(request, "limit", 20, 1, 100)
    before = int_param(request, "before", 0, 0, 999_999) or None
    async with bot.db.read() as s:
        rows = await repo.listing(s, limit, before)
    more = len(rows) == limit
    return web.json_response({"broadcasts": rows, "next_before": rows[-1]["id"] if more else None})


async def delete_broadcast(request: web.Request) -> web.Response:
    bot = bot_of(request)
    bid = broadcast_id(request)
    async with bot.db.transaction() as s:
        taken = await repo.cancel(s, bid, bot.clock.now())
        if taken is not None:
            record_change(s, request, "broadcast.cancel", str(bid), took_back=taken)
    if taken is None:
        raise not_found(f"unknown broadcast {bid}")
    async with bot.db.read() as s:
        body = await repo.report(s, bid)
    return web.json_response({**(body or {}), "took_back": taken})


def setup_web(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/broadcasts", post_broadcast)
    r.add_post("/api/broadcasts/preview", post_preview)
    r.add_get("/api/broadcasts", list_broadcasts)
    r.add_get("/api/broadcasts/{bid}", get_broadcast)
    r.add_delete("/api/broadcasts/{bid}", delete_broadcast)
