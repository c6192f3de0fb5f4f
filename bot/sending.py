"""Queueing messages outside a handler's Context (CLI commands, background sync): the same
outbox rows ``ctx.send`` makes, keyed by the caller's idempotency key so a retry queues
nothing twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.outbox.queue import enqueue, route
from storage.db import Database
from storage.migrate import upgrade


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
) -> None:
    """A text message into a group, over the group's channel."""
    channel, target = route(config, group_id, platform)
    payload: dict[str, Any] = {"text": text, "mentions": list(mentions), "group_id": group_id}
    await enqueue(
        session,
        now=now,
        channel=channel,
        target=target,
        action="text",
        payload=payload,
        group_id=group_id,
        idem_key=idem_key,
    )


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
