"""Attachments of a 企业群发 task in WeCom's form, images uploaded as temporary media.

Rules:
- An image (an ``image`` attachment, a mini program's cover ``pic``) is an absolute path of a
  local file from the operator's config, at most ``MAX_BYTES``; it is uploaded with
  ``media/upload?type=image`` and its ``media_id`` is kept in ``groupmsg_media`` under the
  SHA-256 of its bytes until ``MEDIA_LIFE`` has passed (WeCom keeps temporary media 3 days),
  so the same picture is uploaded once per three days however many tasks carry it.
- A file that cannot be read, or is too large, is a ``ValueError`` naming the file: the task
  fails alone and its groups get staff reminders.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.wecom_api import WeComClient
from storage.models_groupmsg import GroupMsgMedia

if TYPE_CHECKING:
    from bot import Bot

MAX_BYTES = 10 * 1024 * 1024  # WeCom: images up to 10 MB
MEDIA_LIFE = timedelta(days=3) - timedelta(hours=1)


async def media_id(bot: Bot, c: WeComClient, path: str, now: datetime) -> str:
    """The ``media_id`` of the image at ``path``: cached while fresh, else uploaded."""
    try:
        data = await asyncio.to_thread(Path(path).read_bytes)
    except OSError as exc:
        raise ValueError(f"image file {path}: {exc.strerror or exc}") from exc
    if not data or len(data) > MAX_BYTES:
        raise ValueError(f"image file {path} is empty or larger than 10 MB")
    ref = hashlib.sha256(data).hexdigest()
    async with bot.db.read() as s:
        row = await s.get(GroupMsgMedia, ref)
        if row is not None and row.expires_at > now:
            return row.media_id
    answer = await c.call(
        "media/upload", {}, query={"type": "image"}, upload=(Path(path).name, data)
    )
    mid = str(answer.get("media_id", ""))
    async with bot.db.transaction() as s:
        await s.merge(GroupMsgMedia(ref=ref, media_id=mid, expires_at=now + MEDIA_LIFE))
    return mid


async def wecom_attachments(
    bot: Bot, c: WeComClient, attachments: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """The ``attachments`` of ``add_msg_template`` for a task's configured attachments."""
    out: list[dict[str, Any]] = []
    for a in attachments:
        if a.get("image"):
            mid = await media_id(bot, c, str(a["image"]), now)
            out.append({"msgtype": "image", "image": {"media_id": mid}})
        elif a.get("link"):
            link = {k: v for k, v in dict(a["link"]).items() if v}
            out.append({"msgtype": "link", "link": link})
        elif a.get("miniprogram"):
            m = dict(a["miniprogram"])
            pic = await media_id(bot, c, str(m["pic"]), now)
            mp = {"title": m["title"], "pic_media_id": pic, "appid": m["appid"], "page": m["page"]}
            out.append({"msgtype": "miniprogram", "miniprogram": mp})
    return out
