"""Texts queued for one group at the same moment go out as one message.

A burst of ``/签到`` in a busy group would otherwise be answered by a flood of bot posts (and
a WeCom robot key allows 20 a minute). The outbox worker takes a target's due rows in order
and sends runs of them as one message.

Rules:
- Only replies merge (rows made while handling a member's event; broadcasts, programme posts
  and API messages stay separate), and only plain ``text`` rows — never markdown, private
  messages, kicks, images, 智能机器人 answers or a row that mentions someone or quotes a
  message — and only with the rows right after them for the same target, so the chat shows
  the texts in queue order.
- A merged message stays within the channel's text limit (``queue.limit``) and carries at
  most ``max_rows`` rows (``[bot] merge_max_replies``, default ``MAX_ROWS`` = 10); the texts
  are joined by line breaks.
- The rows of a merged message share its fate: all sent, all retried, or all dead — and a
  crash after the platform accepted it but before its mark committed sends the whole message
  again. ``max_rows`` is therefore the most replies one crash repeats in a group. (Storing
  the merge before sending would not lower that: the platforms take no idempotency key, so
  the re-send repeats whatever the first send carried.) 10 keeps a burst of ``/签到`` at one
  post per ten members — 200 replies a minute on a WeCom robot key's 20 posts — while a
  check-in reply (~95 bytes) would let 21 fit a robot text and 46 a OneBot message.
"""

from __future__ import annotations

from bot.outbox.queue import limit
from storage.models import OutboxMessage

MAX_ROWS = 10  # default of [bot] merge_max_replies
CHANNELS = {"console", "onebot", "wecom_robot"}


def mergeable(row: OutboxMessage) -> bool:
    payload = row.payload or {}
    return (
        row.event_id is not None
        and row.action == "text"
        and row.channel in CHANNELS
        and isinstance(payload.get("text"), str)
        and not payload.get("mentions")
        and not payload.get("quote")
    )


def runs(
    rows: list[OutboxMessage], enabled: bool = True, max_rows: int = MAX_ROWS
) -> list[list[OutboxMessage]]:
    """The rows (one target, in order) cut into runs that go out as one message each, none
    longer than ``max_rows``."""
    out: list[list[OutboxMessage]] = []
    size = 0
    for row in rows:
        cur = out[-1] if out else None
        n = len(row.payload["text"].encode()) + 1 if mergeable(row) else 0
        if (
            enabled
            and cur is not None
            and n
            and mergeable(cur[0])
            and cur[0].channel == row.channel
            and len(cur) < max_rows
            and size + n <= limit(row.channel, row.action)
        ):
            cur.append(row)
            size += n
        else:
            out.append([row])
            size = n
    return out


def combined(rows: list[OutboxMessage]) -> OutboxMessage:
    """The message to send for a run: the first row itself, or a copy carrying all texts."""
    first = rows[0]
    if len(rows) == 1:
        return first
    text = "\n".join(r.payload["text"] for r in rows)
    return OutboxMessage(
        id=first.id,
        idem_key=first.idem_key,
        group_id=first.group_id,
        channel=first.channel,
        target=first.target,
        action=first.action,
        payload={**first.payload, "text": text},
        status=first.status,
        attempts=max(r.attempts for r in rows),
        next_attempt_at=first.next_attempt_at,
        last_error=first.last_error,
        event_id=first.event_id,
        created_at=first.created_at,
    )
