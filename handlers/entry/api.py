"""The console's JSON routes for 活码 campaigns (token required, as every ``/api/`` route).

- ``GET /api/entry``: every campaign, its groups in order with live members, capacity, the
  QR (kind, upload time, expiry), the last 7 days' visits and joins, which group the page
  shows now, and the WeCom 加入群聊 code when the campaign has one.
- ``PUT /api/entry/{campaign}/groups/{group}/qr``: the body is the image itself
  (``image/png`` or ``image/jpeg``), or JSON ``{"link": "https://…", "expires_days": 0}``.
  400 with the reason and nothing changed when it is refused (``qr`` module rules).
- ``DELETE /api/entry/{campaign}/groups/{group}/qr``.

Every change of a QR is an audit row in its transaction (``entry.qr_upload``, ``entry.qr_link``,
``entry.qr_delete``; actor ``api`` here, ``staff:<name>`` from the 活码 page).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import select

from bot.web_public import bad_request, bot_of, iso, json_body, not_found, record_change
from handlers.entry import qr as qrs
from handlers.entry import repo
from handlers.entry.config import Campaign, campaign, campaigns
from handlers.entry.logic import capacity, choose, usable
from storage.models_entry import EntryJoinWay

if TYPE_CHECKING:
    from bot import Bot

WARN_BEFORE = timedelta(days=1)


async def overview(bot: Bot, c: Campaign) -> dict[str, Any]:
    """One campaign as the console shows it."""
    now = bot.clock.now()
    since = (now.astimezone(bot.config.timezone(None)) - timedelta(days=6)).date()
    async with bot.db.read() as s:
        choice = await choose(s, bot.config, c, now)
        gids = await repo.group_ids(s, c)
        names = await repo.group_names(s, bot.config, gids)
        rows = await repo.qr_rows(s, c.id)
        figures = await repo.totals(s, c.id, since)
        way = await s.scalar(select(EntryJoinWay).where(EntryJoinWay.campaign_id == c.id))
    groups = []
    for gid in gids:
        q = rows.get(gid)
        cap = capacity(bot.config, c, gid)
        v, j = figures.get(gid, (0, 0))
        groups.append(
            {
                "id": gid,
                "name": names[gid],
                "opened_by_wecom": gid not in c.groups,
                "members": choice.counts.get(gid, 0),
                "capacity": cap,
                "full": choice.counts.get(gid, 0) >= cap,
                "qr": None
                if q is None
                else {
                    "kind": q.kind,
                    "link": q.link,
                    "uploaded_at": iso(q.uploaded_at),
                    "expires_at": iso(q.expires_at) if q.expires_at else None,
                    "usable": usable(q, now),
                    "expires_soon": bool(q.expires_at and q.expires_at - now <= WARN_BEFORE),
                },
                "visits_7d": v,
                "joins_7d": j,
            }
        )
    return {
        "id": c.id,
        "title": c.title,
        "page": f"/j/{c.id}",
        "showing": choice.group_id,
        "state": choice.reason or "ok",
        "visits_full_7d": figures.get("", (0, 0))[0],
        "groups": groups,
        "wecom": None
        if c.wecom is None
        else {
            "config_id": way.config_id if way else "",
            "qr_code": way.qr_code if way else "",
            "status": way.status if way else "pending",
            "chat_ids": list(way.chat_ids) if way else [],
            "last_error": way.last_error if way else "",
        },
    }


def _target(request: web.Request) -> tuple[Campaign, str]:
    bot = bot_of(request)
    c = campaign(bot.config, request.match_info["campaign"])
    if c is None:
        raise not_found("no such campaign")
    gid = request.match_info["group"]
    if gid not in c.groups:
        raise not_found("group is not in this campaign (groups WeCom opens use its own QR)")
    return c, gid


async def list_campaigns(request: web.Request) -> web.Response:
    bot = bot_of(request)
    out = [await overview(bot, c) for c in campaigns(bot.config)]
    async with bot.db.read() as s:
        found = await repo.candidates(s)
    created = [
        {
            "chat_id": r.chat_id,
            "status": r.status,
            "campaign": r.campaign_id,
            "seen_at": iso(r.seen_at),
            "attempts": r.attempts,
            "last_error": r.last_error,
        }
        for r in found
    ]
    return web.json_response({"campaigns": out, "created_groups": created})


async def put_qr(request: web.Request) -> web.Response:
    bot = bot_of(request)
    c, gid = _target(request)
    ctype = request.content_type
    try:
        if ctype in ("image/png", "image/jpeg"):
            if (request.content_length or 0) > qrs.MAX_IMAGE_BYTES:
                raise qrs.BadQr("图片太大 / image too large")
            data = await request.read()
            async with bot.db.transaction() as s:
                row = await qrs.save(s, c.id, gid, bot.clock.now(), image=data)
                qrs.audit(s, request, row)
        elif ctype == "application/json":
            body = await json_body(request)
            days = body.get("expires_days", 0)
            if not isinstance(days, int) or isinstance(days, bool):
                raise qrs.BadQr("expires_days must be a whole number")
            async with bot.db.transaction() as s:
                row = await qrs.save(
                    s, c.id, gid, bot.clock.now(), link=str(body.get("link", "")), expires_days=days
                )
                qrs.audit(s, request, row)
        else:
            raise qrs.BadQr("send image/png, image/jpeg or application/json {link}")
    except qrs.BadQr as exc:
        raise bad_request(str(exc)) from exc
    return web.json_response(await overview(bot, c))


async def delete_qr(request: web.Request) -> web.Response:
    bot = bot_of(request)
    c, gid = _target(request)
    async with bot.db.transaction() as s:
        if await qrs.remove(s, c.id, gid):
            record_change(s, request, "entry.qr_delete", c.id, group_id=gid)
    return web.json_response(await overview(bot, c))


def setup_web(app: web.Application) -> None:
    app.router.add_get("/api/entry", list_campaigns)
    app.router.add_put("/api/entry/{campaign}/groups/{group}/qr", put_qr)
    app.router.add_delete("/api/entry/{campaign}/groups/{group}/qr", delete_qr)
