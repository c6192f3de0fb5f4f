"""Storing a group's join QR: an uploaded image or a link, checked before anything changes.

Rules:
- An image is PNG or JPEG, told by its first bytes (not by the name or the type the browser
  claims), at most ``MAX_IMAGE_BYTES``; it is kept in the database, so every instance serves
  the same. A WeChat group QR works for 7 days: its ``expires_at`` is the upload time plus
  ``QR_DAYS``.
- A link is an ``https://`` address (at most 1,000 characters, no spaces or control
  characters) that the visitor's phone opens; the bot never fetches it. It expires after
  ``expires_days`` when given (0: never).
- A new upload replaces the old one and clears its expiry warning (the new QR is warned
  about in its turn).
- Every stored or deleted QR is an audit row in the same transaction, with who did it
  (``staff:<name>`` from the 活码 page, ``api``/``token`` otherwise): ``entry.qr_upload``
  (kind, size, expiry), ``entry.qr_link`` (the link, expiry), ``entry.qr_delete``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.web_public import record_change
from storage.dialect import insert, rowcount
from storage.models_entry import EntryQr

MAX_IMAGE_BYTES = 512 * 1024
QR_DAYS = 7
LINK_RE = re.compile(r"https://[^\s\x00-\x1f\x7f<>\"']{1,990}")


class BadQr(ValueError):
    """A QR that may not be stored; the message says why (Chinese first, for operators)."""


def image_type(data: bytes) -> str:
    """``image/png`` or ``image/jpeg`` from the data's signature, else BadQr."""
    if not data:
        raise BadQr("请选择二维码图片（PNG 或 JPEG） / no image")
    if len(data) > MAX_IMAGE_BYTES:
        raise BadQr(f"图片太大（最多 {MAX_IMAGE_BYTES // 1024} KB） / image too large")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    raise BadQr("只接受 PNG 或 JPEG 图片 / only PNG or JPEG images")


def check_link(link: str) -> str:
    link = link.strip()
    if not LINK_RE.fullmatch(link):
        raise BadQr("链接须以 https:// 开头，不含空格 / link must be an https:// address")
    return link


async def save(
    session: AsyncSession,
    cid: str,
    gid: str,
    now: datetime,
    *,
    image: bytes | None = None,
    link: str = "",
    expires_days: int = 0,
) -> EntryQr:
    """Store (replace) the group's QR; the row as stored."""
    if image is not None:
        values = dict(
            kind="image",
            image=image,
            mime=image_type(image),
            link="",
            expires_at=now + timedelta(days=QR_DAYS),
        )
    else:
        if not 0 <= expires_days <= 365:
            raise BadQr("有效天数须在 0–365 之间 / expires_days must be 0–365")
        values = dict(
            kind="link",
            image=None,
            mime="",
            link=check_link(link),
            expires_at=now + timedelta(days=expires_days) if expires_days else None,
        )
    stmt = insert(session, EntryQr).values(
        campaign_id=cid, group_id=gid, uploaded_at=now, warned_at=None, **values
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["campaign_id", "group_id"],
        set_={**values, "uploaded_at": now, "warned_at": None},
    )
    await session.execute(stmt)
    return EntryQr(campaign_id=cid, group_id=gid, uploaded_at=now, warned_at=None, **values)


async def remove(session: AsyncSession, cid: str, gid: str) -> bool:
    """Delete the group's QR; True when there was one."""
    done = await session.execute(
        delete(EntryQr).where(EntryQr.campaign_id == cid, EntryQr.group_id == gid)
    )
    return bool(rowcount(done))


def audit(session: AsyncSession, request: web.Request, row: EntryQr) -> None:
    """The audit row of a stored QR (same transaction), with who stored it."""
    expires = row.expires_at.isoformat() if row.expires_at else None
    detail: dict[str, object] = {"kind": row.kind, "expires_at": expires}
    if row.kind == "image":
        detail["bytes"] = len(row.image or b"")
    else:
        detail["link"] = row.link[:200]
    action = "entry.qr_upload" if row.kind == "image" else "entry.qr_link"
    record_change(session, request, action, row.campaign_id, group_id=row.group_id, **detail)
