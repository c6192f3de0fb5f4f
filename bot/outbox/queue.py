"""Queueing outgoing messages and actions (inside the caller's transaction).

Rules:
- A message is split into rows the platform accepts whole: WeCom robot text ≤ 2048 bytes,
  markdown ≤ 4096 bytes, cut at line ends (or characters), never inside a UTF-8 character.
- Each row carries an idempotency key when the producer can be retried; a second insert with the
  same key is ignored by the database's unique constraint.
- Where a message goes (channel and pacing target) follows the group's platform.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.dispatch.batch import Batch
from storage.dialect import insert_ignore
from storage.models import OutboxMessage

TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 4096
ONEBOT_LIMIT = 4500  # OneBot has no documented cap; long QQ messages get folded, keep sane


def split_utf8(text: str, limit: int) -> list[str]:
    """Pieces of ``text`` each at most ``limit`` UTF-8 bytes, cut at line ends when possible."""
    if len(text.encode()) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        if len((current + line).encode()) <= limit:
            current += line
            continue
        if current:
            pieces.append(current)
        while len(line.encode()) > limit:
            head, line = _cut(line, limit)
            pieces.append(head)
        current = line
    if current:
        pieces.append(current)
    return [p.rstrip("\n") for p in pieces if p.strip()]


def _cut(s: str, budget: int) -> tuple[str, str]:
    n = 0
    for i, ch in enumerate(s):
        n += len(ch.encode())
        if n > budget:
            return s[:i], s[i:]
    return s, ""


def route(config: Config, group_id: str | None, platform: str) -> tuple[str, str]:
    """(channel, pacing target) for a message to a group on a platform."""
    g = config.group(group_id)
    plat = g.platform if g else platform
    if plat in ("wecom", "aibot"):
        key = g.webhook_key if g else ""
        return ("wecom_robot", key) if key else ("console", f"console:{group_id}")
    if plat == "onebot":
        return "onebot", f"onebot:{group_id}"
    return "console", f"console:{group_id}"


async def enqueue(
    session: AsyncSession,
    *,
    now: datetime,
    channel: str,
    target: str,
    action: str,
    payload: dict[str, Any],
    group_id: str | None = None,
    idem_key: str | None = None,
    event_id: int | None = None,
    not_before: datetime | None = None,
    batch: Batch | None = None,
) -> list[int]:
    """Insert one or more outbox rows (text is split to fit); returns the new rows' ids.
    ``not_before`` holds the rows back (an aibot answer waiting to be the passive reply).
    In a dispatcher batch the rows are written with the batch (no ids are returned)."""
    rows: list[dict[str, Any]] = []
    text = payload.get("text")
    if isinstance(text, str) and action in ("text", "markdown", "private_text"):
        limit = {"wecom_robot": TEXT_LIMIT, "onebot": ONEBOT_LIMIT}.get(channel, 1 << 20)
        if action == "markdown" and channel == "wecom_robot":
            limit = MARKDOWN_LIMIT
        parts = split_utf8(text, limit) or [text]
    else:
        parts = [None]  # type: ignore[list-item]
    for i, part in enumerate(parts):
        body = dict(payload) if part is None else {**payload, "text": part}
        if i > 0:
            body.pop("mentions", None)  # mention people once, in the first piece
        key = idem_key if (idem_key is None or i == 0) else f"{idem_key}#{i}"
        rows.append(
            dict(
                idem_key=key,
                group_id=group_id,
                channel=channel,
                target=target,
                action=action,
                payload=body,
                status="queued",
                attempts=0,
                next_attempt_at=max(now, not_before or now),
                last_error="",
                event_id=event_id,
                created_at=now,
            )
        )
    if batch is not None and batch.deferred:
        for row in rows:
            await batch.insert_ignore(OutboxMessage, row, ["idem_key"])
        return []
    stmt = (
        insert_ignore(session, OutboxMessage, ["idem_key"]).values(rows).returning(OutboxMessage.id)
    )
    return list((await session.scalars(stmt)).all())
