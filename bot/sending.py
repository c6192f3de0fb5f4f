"""Queueing messages outside a handler's Context (CLI commands, background sync, broadcasts):
the same outbox rows ``ctx.send`` makes, keyed by the caller's idempotency key so a retry
queues nothing twice.

Rules:
- A message split into several posts gets the keys ``key``, ``key#1``, ``key#2`` … (in order).
- Cancelling takes back only rows still ``queued``; a row already handed to the platform is
  past recall and keeps the outcome the delivery worker records for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.outbox.queue import enqueue, route, split
from storage.db import Database
from storage.dialect import rowcount
from storage.migrate import upgrade
from storage.models import OutboxMessage


async def queue_group_text(
    session: AsyncSession,
    config: Config,
    *,
    now: datetime,
    group_id: str,
    text: str,
    idem_key: str,
    platform: str,
    mentions: tuple[str, ...] = (),
    markdown: bool = False,
) -> int:
    """A text (or markdown) message into a group, over the group's channel; returns how many
    posts it takes (their keys: ``idem_key``, then ``idem_key#1`` …)."""
    channel, target = route(config, group_id, platform)
    action = "markdown" if markdown else "text"
    payload: dict[str, Any] = {"text": text, "mentions": list(mentions), "group_id": group_id}
    await enqueue(
        session,
        now=now,
        channel=channel,
        target=target,
        action=action,
        payload=payload,
        group_id=group_id,
        idem_key=idem_key,
    )
    return len(split(channel, action, text))


async def queue_group_image(
    session: AsyncSession,
    config: Config,
    *,
    now: datetime,
    group_id: str,
    image: str,
    idem_key: str,
    platform: str,
    title: str = "",
) -> None:
    """An image into a group over the group's channel: the same ``image`` row a reply's
    image is (OneBot: an image segment; WeCom robot: a news card for a URL; console: a line).
    ``title``: the news card's title."""
    channel, target = route(config, group_id, platform)
    payload: dict[str, Any] = {"image": image, "group_id": group_id}
    if title:
        payload["title"] = title
    await enqueue(
        session,
        now=now,
        channel=channel,
        target=target,
        action="image",
        payload=payload,
        group_id=group_id,
        idem_key=idem_key,
    )


def part_keys(idem_key: str, parts: int) -> list[str]:
    """The outbox keys of a message queued under ``idem_key`` in ``parts`` posts."""
    return [idem_key] + [f"{idem_key}#{i}" for i in range(1, parts)]


async def cancel_queued(session: AsyncSession, idem_keys: Sequence[str]) -> int:
    """Take back the rows with these keys that are still waiting to be sent (status
    ``cancelled``); returns how many were taken back."""
    n = 0
    for i in range(0, len(idem_keys), 500):  # (bound parameters per statement)
        chunk = list(idem_keys[i : i + 500])
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.idem_key.in_(chunk), OutboxMessage.status == "queued")
            .values(status="cancelled", last_error="cancelled")
            .execution_options(synchronize_session=False)
        )
        n += rowcount(result)
    return n


async def queue_private_text(
    session: AsyncSession,
    *,
    now: datetime,
    platform: str,
    user_id: str,
    text: str,
    group_id: str | None,
    idem_key: str,
) -> None:
    """A private text to a member (platforms that have private chats)."""
    await enqueue(
        session,
        now=now,
        channel=platform,
        target=f"{platform}:private:{user_id}",
        action="private_text",
        payload={"text": text, "user_id": user_id, "group_id": group_id},
        group_id=group_id,
        idem_key=idem_key,
    )


async def queue_app_text(
    session: AsyncSession,
    *,
    now: datetime,
    user_id: str,
    text: str,
    group_id: str | None,
    idem_key: str,
) -> None:
    """A WeCom app message (``message/send``) to a staff member's WeCom, e.g. a reminder to
    a customer group's owner; paced per staff member."""
    await enqueue(
        session,
        now=now,
        channel="wecom_app",
        target=f"wecom_app:{user_id}",
        action="app_text",
        payload={"text": text, "user_id": user_id, "group_id": group_id},
        group_id=group_id,
        idem_key=idem_key,
    )


@asynccontextmanager
async def database(config: Config, *, migrate: bool = True) -> AsyncIterator[Database]:
    """The configured database for a CLI command (schema brought up to date first)."""
    db = Database(config.storage.url)
    try:
        if migrate:
            await upgrade(db)
        yield db
    finally:
        await db.dispose()
