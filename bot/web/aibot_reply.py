"""The 智能机器人's passive reply: answer in the callback's own HTTP response when we can.

Rules (PLATFORMS.md §4.2):
- After the callback's event is stored, the request waits up to ``[wecom.aibot] passive_wait_s``
  for the event to be processed. Answers to it sit in the outbox held back (``next_attempt_at``
  in the future); the callback claims them by moving them from queued to sent in one UPDATE, so
  an answer goes out exactly once: in this response, or later by the outbox to the
  ``response_url`` (usable once, for an hour), never both. Only rows still in their original
  hold-back are taken (an outbox claim on PostgreSQL also moves ``next_attempt_at`` ahead),
  and only if ``next_attempt_at`` is unchanged at the moment of the UPDATE.
- A message gets a finished ``stream`` (markdown, ≤ 20480 bytes; the rest stays for the
  response_url); ``enter_chat`` gets ``text``. The reply is encrypted JSON signed with the
  callback's nonce.
- Nothing ready in time (or a redelivery of an event already answered): an empty 200.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from bot.adapters import aibot
from bot.adapters.wecom import WeComKeys
from bot.events import BotEnteredChat, Event, MessageReceived
from bot.runtime import Bot
from storage.dialect import rowcount
from storage.models import InboxEvent, OutboxMessage

STREAM_LIMIT = 20480
POLL_S = 0.01


async def _processed(bot: Bot, dedup_key: str, deadline: float) -> int | None:
    """The inbox id of the event once processed (done), or None at the deadline."""
    while True:
        async with bot.db.read() as s:
            row = (
                await s.execute(
                    select(InboxEvent.id, InboxEvent.status).where(
                        InboxEvent.dedup_key == dedup_key
                    )
                )
            ).first()
        if row is not None and row.status != "queued":
            return int(row.id)
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(POLL_S)


async def claim(bot: Bot, event_id: int) -> list[str]:
    """Take the held-back answers to ``event_id`` (oldest first, within the size limit)."""
    now = bot.clock.now()
    hold = timedelta(seconds=bot.config.wecom.aibot.passive_wait_s + 1.5)
    async with bot.db.transaction() as s:
        rows = (
            await s.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.payload,
                    OutboxMessage.created_at,
                    OutboxMessage.next_attempt_at,
                )
                .where(
                    OutboxMessage.event_id == event_id,
                    OutboxMessage.channel == "aibot",
                    OutboxMessage.status == "queued",
                    OutboxMessage.next_attempt_at > now,
                )
                .order_by(OutboxMessage.id)
            )
        ).all()
        texts: list[str] = []
        size = 0
        taken: list[int] = []
        for row_id, payload, created_at, held_until in rows:
            if held_until - created_at > hold:
                continue  # not our hold-back: an outbox worker has claimed it (PostgreSQL)
            text = str(payload.get("text", ""))
            n = len(text.encode()) + 2
            if taken and size + n > STREAM_LIMIT:
                break
            res = await s.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == row_id,
                    OutboxMessage.status == "queued",
                    OutboxMessage.next_attempt_at == held_until,  # unchanged since we looked
                )
                .values(status="sent", sent_at=now, attempts=1, last_error="passive reply")
            )
            if rowcount(res) == 1:
                taken.append(row_id)
                texts.append(text)
                size += n
    return texts


async def passive_reply(
    bot: Bot, keys: WeComKeys, event: Event, nonce: str, started: float
) -> dict[str, Any] | None:
    """The encrypted passive reply for ``event``, or None (answer later / nothing to say)."""
    if not isinstance(event, MessageReceived | BotEnteredChat) or not bot.processes_events:
        return None
    deadline = started + bot.config.wecom.aibot.passive_wait_s
    bot.hurry()  # the dispatcher does not linger over an event whose answer is awaited here
    event_id = await _processed(bot, event.dedup_key, deadline)
    if event_id is None:
        return None
    texts = await claim(bot, event_id)
    if not texts:
        return None
    content = "\n\n".join(texts)
    if isinstance(event, BotEnteredChat):
        payload: dict[str, Any] = {"msgtype": "text", "text": {"content": content}}
    else:
        stream_id = (event.message_id or event.dedup_key)[-64:]
        payload = aibot.stream_reply(stream_id, content)
    return aibot.encrypt_reply(keys, payload, nonce, int(time.time()))
