"""The member-tags API (same bearer token as every ``/api`` route).

- ``GET /api/groups/{gid}/members/{uid}/tags`` → ``{"group_id", "user_id", "tags": [{"tag",
  "source", "added_by", "added_at"}]}``.
- ``PUT …/tags`` ``{"tags": ["VIP", "已购"]}`` → the member carries exactly these tags
  afterwards (missing ones added, others taken off — an auto-tag rule may put its tag back
  at its next run); 200 with the same body as GET.
- ``DELETE …/tags?tag=VIP`` → that tag taken off; 200 with the body as GET and ``removed``.

A member never seen in the group is 404; a bad tag or too many is 400 naming the field, and
nothing changes. Every change is an audit row with actor ``api``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web_public import bad_request, bot_of, iso, json_body, not_found
from handlers.members.config import MembersConfig
from handlers.members.tags import add_tag, remove_tag, tag_rows
from storage.models import Member

PATH = "/api/groups/{gid}/members/{uid}/tags"


def _ids(request: web.Request) -> tuple[str, str]:
    return request.match_info["gid"], request.match_info["uid"]


async def _body(request: web.Request, gid: str, uid: str, **more: Any) -> web.Response:
    async with bot_of(request).db.read() as s:
        rows = await tag_rows(s, gid, uid)
    tags = [
        {"tag": r.tag, "source": r.source, "added_by": r.added_by, "added_at": iso(r.added_at)}
        for r in rows
    ]
    return web.json_response({"group_id": gid, "user_id": uid, "tags": tags, **more})


async def _known(request: web.Request, gid: str, uid: str) -> None:
    async with bot_of(request).db.read() as s:
        if await s.get(Member, (gid, uid)) is None:
            raise not_found("member never seen in this group")


async def get_tags(request: web.Request) -> web.Response:
    gid, uid = _ids(request)
    await _known(request, gid, uid)
    return await _body(request, gid, uid)


def wanted_tags(data: dict[str, Any], cfg: MembersConfig) -> list[str]:
    """The body's ``tags``, checked (400 naming the field otherwise)."""
    tags = data.get("tags")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise bad_request("tags must be a list of tag names")
    if len(set(tags)) > cfg.max_tags_per_member:
        raise bad_request(f"tags: at most {cfg.max_tags_per_member} tags per member")
    for i, t in enumerate(tags):
        if not cfg.allows(t):
            allowed = f"one of {', '.join(cfg.tags)}" if cfg.tags else "1–20 characters"
            raise bad_request(f"tags[{i}]: not a usable tag ({allowed})")
    return sorted(set(tags))


async def put_tags(request: web.Request) -> web.Response:
    gid, uid = _ids(request)
    bot = bot_of(request)
    cfg = bot.config.feature(MembersConfig, gid)
    want = wanted_tags(await json_body(request), cfg)
    await _known(request, gid, uid)
    now = bot.clock.now()
    common: dict[str, Any] = {"gid": gid, "uid": uid, "actor": "api", "source": "api", "now": now}
    async with bot.db.transaction() as s:
        have = {r.tag for r in await tag_rows(s, gid, uid)}
        for tag in sorted(have - set(want)):
            await remove_tag(s, tag=tag, **common)
        for tag in want:
            if tag not in have:
                await add_tag(s, tag=tag, cap=cfg.max_tags_per_member, **common)
    return await _body(request, gid, uid)


async def delete_tag(request: web.Request) -> web.Response:
    gid, uid = _ids(request)
    bot = bot_of(request)
    tag = request.query.get("tag", "")
    if not tag or len(tag) > 32:
        raise bad_request("tag: name the tag to take off (?tag=…)")
    await _known(request, gid, uid)
    async with bot.db.transaction() as s:
        gone = await remove_tag(
            s, gid=gid, uid=uid, tag=tag, source="api", actor="api", now=bot.clock.now()
        )
    return await _body(request, gid, uid, removed=gone)


def setup_api(app: web.Application) -> None:
    app.router.add_get(PATH, get_tags)
    app.router.add_put(PATH, put_tags)
    app.router.add_delete(PATH, delete_tag)
