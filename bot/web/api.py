"""The JSON API (CONTRACT.md): groups, broadcasts and the outbox. Features add their routes.

Timestamps are ISO 8601 with offset; dates ``YYYY-MM-DD`` in the group's timezone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot.outbox.queue import enqueue, route
from bot.web.ingest import BOT
from storage.models import Group, Member, OutboxMessage

MAX_BROADCAST_BYTES = 20_000


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400/413 with a clear reason."""
    if request.content_length is not None and request.content_length > 256 * 1024:
        raise web.HTTPRequestEntityTooLarge(max_size=256 * 1024, actual_size=request.content_length)
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("body must be JSON") from exc
    if not isinstance(data, dict):
        raise bad_request("body must be a JSON object")
    return data


def bad_request(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": reason}, ensure_ascii=False), content_type="application/json"
    )


def not_found(reason: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(
        text=json.dumps({"error": reason}, ensure_ascii=False), content_type="application/json"
    )


async def list_groups(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    async with bot.db.read() as s:
        rows = (await s.scalars(select(Group).order_by(Group.id))).all()
        counts = dict(
            (
                await s.execute(
                    select(Member.group_id, func.count())
                    .where(Member.in_group.is_(True))
                    .group_by(Member.group_id)
                )
            ).all()
        )
    known = {g.id: g for g in rows}
    out = []
    for g in bot.config.groups:
        out.append(
            {
                "id": g.id,
                "name": g.name,
                "platform": g.platform,
                "tags": list(g.tags),
                "members": counts.get(g.id, 0),
                "active": known[g.id].active if g.id in known else True,
            }
        )
    for gid, g in known.items():
        if bot.config.group(gid) is None:
            out.append(
                {
                    "id": gid,
                    "name": g.name,
                    "platform": g.platform,
                    "tags": [],
                    "members": counts.get(gid, 0),
                    "active": g.active,
                }
            )
    return web.json_response({"groups": out})


async def post_message(request: web.Request) -> web.Response:
    """Admin broadcast into one group: queued in the outbox, delivered at the group's pace."""
    bot = request.app[BOT]
    gid = request.match_info["gid"]
    data = await json_body(request)
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("text must be a non-empty string")
    if len(text.encode()) > MAX_BROADCAST_BYTES:
        raise bad_request(f"text is longer than {MAX_BROADCAST_BYTES} bytes")
    markdown = bool(data.get("markdown", False))
    g = bot.config.group(gid)
    async with bot.db.read() as s:
        seen = await s.get(Group, gid)
    if g is None and seen is None:
        raise not_found(f"unknown group {gid}")
    if seen is not None and not seen.active:
        raise web.HTTPConflict(
            text=json.dumps(
                {"error": f"group {gid} is inactive (the bot left or was removed); nothing queued"},
                ensure_ascii=False,
            ),
            content_type="application/json",
        )
    platform = g.platform if g else (seen.platform if seen else "console")
    channel, target = route(bot.config, gid, platform)
    async with bot.db.transaction() as s:
        ids = await enqueue(
            s,
            now=bot.clock.now(),
            channel=channel,
            target=target,
            action="markdown" if markdown else "text",
            payload={"text": text, "group_id": gid, "mentions": []},
            group_id=gid,
        )
    bot.wake_outbox()
    return web.json_response({"id": ids[0], "parts": len(ids)}, status=202)


async def list_outbox(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    status = request.query.get("status")
    if status and status not in ("queued", "sent", "failed", "dead"):
        raise bad_request("status must be queued, sent, failed or dead")
    try:
        limit = min(1000, max(1, int(request.query.get("limit", "100"))))
    except ValueError as exc:
        raise bad_request("limit must be a number") from exc
    q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status == "failed":
        q = q.where(OutboxMessage.status == "queued", OutboxMessage.attempts > 0)
    elif status:
        q = q.where(OutboxMessage.status == status)
    async with bot.db.read() as s:
        rows = (await s.scalars(q)).all()
    return web.json_response(
        {
            "messages": [
                {
                    "id": r.id,
                    "group_id": r.group_id,
                    "status": r.status,
                    "action": r.action,
                    "attempts": r.attempts,
                    "last_error": r.last_error,
                    "created_at": iso(r.created_at),
                    "sent_at": iso(r.sent_at),
                }
                for r in rows
            ]
        }
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/api/groups", list_groups)
    app.router.add_post("/api/groups/{gid}/messages", post_message)
    app.router.add_get("/api/outbox", list_outbox)
