"""The JSON API (CONTRACT.md): groups, broadcasts and the outbox. Features add their routes.

Timestamps are ISO 8601 with offset; dates ``YYYY-MM-DD`` in the group's timezone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot.group_tags import group_tags
from bot.outbox.queue import enqueue, route
from bot.web.ingest import BOT
from storage.models import Group, Member, OutboxMessage

MAX_BROADCAST_BYTES = 20_000
MAX_PER_PAGE = 500  # groups in one page of GET /api/groups


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


def _page_query(request: web.Request) -> tuple[int, int] | None:
    """(page, per_page) when either is asked for (400 out of range), else None: every group."""
    if "page" not in request.query and "per_page" not in request.query:
        return None
    numbers = []
    for name, default, hi in (("page", 1, 1_000_000), ("per_page", 50, MAX_PER_PAGE)):
        raw = request.query.get(name, str(default)).strip()
        if not raw.isdigit() or not 1 <= int(raw) <= hi:
            raise bad_request(f"{name} must be a whole number from 1 to {hi}")
        numbers.append(int(raw))
    return numbers[0], numbers[1]


async def list_groups(request: web.Request) -> web.Response:
    """Configured groups first, then groups met on the wire by id; all of them, or one page
    with ``?page=N&per_page=M`` (the answer then also says ``page``, ``per_page``, ``total``).
    ``active`` is false once the bot left the group or was removed."""
    bot = request.app[BOT]
    paged = _page_query(request)
    configured = [g.id for g in bot.config.groups]
    others = select(Group).where(Group.id.not_in(configured)).order_by(Group.id)
    extra: dict[str, int] = {}
    async with bot.db.read() as s:
        if paged is None:
            ids, seen = configured, list((await s.scalars(others)).all())
        else:
            page, per_page = paged
            first = (page - 1) * per_page
            ids = configured[first : first + per_page]
            skip = max(0, first - len(configured))
            q = others.offset(skip).limit(per_page - len(ids))
            seen = list((await s.scalars(q)).all()) if len(ids) < per_page else []
            n_others = select(func.count()).select_from(others.subquery())
            total = len(configured) + int(await s.scalar(n_others) or 0)
            extra = {"page": page, "per_page": per_page, "total": total}
        shown = ids + [g.id for g in seen]
        count_q = select(Member.group_id, func.count()).where(Member.in_group.is_(True))
        active_q = select(Group.id, Group.active).where(Group.id.in_(ids))
        if paged is not None:
            count_q = count_q.where(Member.group_id.in_(shown))
        counts = dict((await s.execute(count_q.group_by(Member.group_id))).all())
        active = dict((await s.execute(active_q)).all()) if ids else {}
        tags = await group_tags(s, bot.config, shown)
    out = []
    for gid in ids:
        g = bot.config.group(gid)
        assert g is not None
        out.append(
            {
                "id": g.id,
                "name": g.name,
                "platform": g.platform,
                "tags": list(tags[g.id]),
                "members": counts.get(g.id, 0),
                "active": active.get(g.id, True),
            }
        )
    for row in seen:
        out.append(
            {
                "id": row.id,
                "name": row.name,
                "platform": row.platform,
                "tags": list(tags[row.id]),
                "members": counts.get(row.id, 0),
                "active": row.active,
            }
        )
    return web.json_response({"groups": out, **extra})


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
    if status and status not in ("queued", "sent", "failed", "dead", "cancelled"):
        raise bad_request("status must be queued, sent, failed, dead or cancelled")
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
