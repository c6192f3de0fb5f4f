"""Queueing outgoing messages and actions (inside the caller's transaction).

Rules:
- A message is split into rows the channel accepts whole (``LIMITS``: WeCom robot text ≤ 2048
  bytes, markdown ≤ 4096, …), cut at line ends (or characters), never inside a UTF-8
  character; one message becomes at most ``MAX_PARTS`` rows. ``split`` is the only place
  that knows the limits: queueing, merging and the programme all use it.
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

# What one message may carry, in UTF-8 bytes, per channel and action (PLATFORMS.md):
# WeCom robot text 2048 and markdown 4096; WeCom app text (message/send) 2048;
# 智能机器人 (response_url / stream) markdown 20480;
# OneBot documents no cap — QQ folds long messages, so 4500 keeps them readable; the console
# prints what a WeCom markdown message could hold.
LIMITS: dict[tuple[str, str], int] = {
    ("wecom_robot", "text"): 2048,
    ("wecom_robot", "markdown"): 4096,
    ("aibot", "markdown"): 20480,
    ("wecom_app", "app_text"): 2048,
    ("onebot", "text"): 4500,
    ("onebot", "markdown"): 4500,
    ("onebot", "private_text"): 4500,
    ("console", "text"): 4096,
    ("console", "markdown"): 4096,
    ("console", "private_text"): 4096,
}
DEFAULT_LIMIT = 2048  # an unknown pair: the strictest platform's text limit
MAX_PARTS = 10  # one message becomes at most this many posts; the rest is cut with a mark
CUT_MARK = "\n…（内容过长，已截断）"


def limit(channel: str, action: str) -> int:
    """The bytes one message of ``action`` may carry on ``channel``."""
    return LIMITS.get((channel, action), DEFAULT_LIMIT)


def split(channel: str, action: str, text: str) -> list[str]:
    """``text`` as the messages ``channel`` accepts whole: each within its byte limit, cut at
    line ends where possible, at most ``MAX_PARTS`` of them (the last then ends with a mark
    saying the text was cut)."""
    n = limit(channel, action)
    return split_utf8(text, n, MAX_PARTS) or [_encode(text[:n])[:n].decode(errors="ignore")]


def split_utf8(text: str, limit: int, max_parts: int | None = None) -> list[str]:
    """Pieces of ``text`` each at most ``limit`` UTF-8 bytes, cut at line ends when possible,
    never inside a character. Linear: the text is encoded once and cut as bytes; with
    ``max_parts`` only the head that can be posted is looked at."""
    if limit < 4:
        raise ValueError("a piece must hold any UTF-8 character (4 bytes)")
    if max_parts is not None:
        # every character is at least one byte: this prefix holds all that can be posted
        head = text[: max_parts * limit + 1]
        data = _encode(head)
        more = len(head) < len(text)
    else:
        data, more = _encode(text), False
    if not more and len(data) <= limit:
        return [text]
    pieces: list[str] = []
    pos, end = 0, len(data)
    while pos < end:
        if max_parts is not None and len(pieces) == max_parts:
            more = True
            break
        if end - pos <= limit:
            cut = nxt = end
        else:
            nl = data.rfind(b"\n", pos, pos + limit + 1)
            if nl >= pos:
                cut, nxt = nl, nl + 1
            else:
                cut = pos + limit
                while cut > pos and data[cut] & 0xC0 == 0x80:  # inside a UTF-8 character
                    cut -= 1
                nxt = cut
        piece = data[pos:cut].decode().rstrip("\n")
        if piece.strip():
            pieces.append(piece)
        pos = nxt
    if more and pieces:
        room = limit - len(_encode(CUT_MARK))
        last = _encode(pieces[-1])[:room].decode(errors="ignore")
        pieces[-1] = last + CUT_MARK
    return pieces


def _encode(text: str) -> bytes:
    return text.encode()


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


# session.info key: this unit of work queued outbox rows
QUEUED = "groupbot_outbox_queued"


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
    In a dispatcher batch the rows are written with the batch (no ids are returned). The
    session is marked (``QUEUED``): the dispatcher wakes the delivery loop only after a batch
    that queued something."""
    session.info[QUEUED] = True
    rows: list[dict[str, Any]] = []
    text = payload.get("text")
    parts: list[str | None] = [None]  # one row with the payload as it is
    if isinstance(text, str) and action in ("text", "markdown", "private_text"):
        parts = list(split(channel, action, text))
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
