"""The loops' idle look: one cheap read while nothing is due, the real work when something is.

A started bot (workers on, the real clock) with the idle poll shortened: while nothing is
due, neither loop opens a batch or a delivery round; an event or a message stored by another
process (nothing wakes this one) is still processed and delivered by the look.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from bot import loops
from bot.events import MessageReceived
from bot.inbox import inbox_row
from bot.runtime import Bot
from bot.sending import queue_group_text
from storage.db import Database
from storage.models import InboxEvent
from tests.harness import make_config
from tests.test_loops import until  # (a bound on a wait, not a timing claim)

POLL_S = 0.05


@pytest.fixture
async def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Bot]:
    monkeypatch.setattr(loops, "IDLE_POLL_S", POLL_S)
    b = Bot(make_config(tmp_path), migrate=False, console_sink=lambda _line: None)
    await b.db.create_all()
    await b.start()
    yield b
    await b.stop()


@pytest.fixture
async def elsewhere(bot: Bot) -> AsyncIterator[Database]:
    """The same database opened as another process would: its writes wake nothing here."""
    db = Database(bot.config.storage.url)
    yield db
    await db.dispose()


def counted(obj: Any, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(obj, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        got = await real(*args, **kwargs)
        calls.append(1)
        return got

    setattr(obj, name, wrapper)
    return calls


async def test_an_idle_spell_opens_no_batch_and_no_delivery_round(bot: Bot) -> None:
    assert bot.outbox is not None
    await asyncio.sleep(0.3)  # the start-up rounds are over
    batches = counted(bot.dispatcher, "run_once")
    rounds = counted(bot.outbox, "run_once")
    dispatch_looks = counted(bot.dispatcher, "anything_due")
    delivery_looks = counted(bot.outbox, "anything_due")
    await asyncio.sleep(20 * POLL_S)
    assert len(dispatch_looks) >= 5  # the loops did look …
    if bot.db.dialect == "sqlite":  # (PostgreSQL: other instances claim rows: it always runs)
        assert len(delivery_looks) >= 5
        assert rounds == []
    assert batches == []  # … and found nothing to take


async def test_an_event_stored_elsewhere_is_processed_by_the_idle_look(
    bot: Bot, elsewhere: Database
) -> None:
    now = datetime.now(UTC)
    event = MessageReceived(
        dedup_key="other-process-1",
        platform="console",
        group_id="g1",
        occurred_at=now,
        user_id="carol",
        user_name="carol",
        text="/签到",
        message_id="m1",
    )
    async with elsewhere.transaction() as s:
        await s.execute(insert(InboxEvent), [inbox_row(event, now)])
    await until(lambda: any("carol" in line for line in bot.console.lines))  # the reply


async def test_a_message_queued_elsewhere_is_delivered_by_the_idle_look(
    bot: Bot, elsewhere: Database
) -> None:
    await asyncio.sleep(0.3)  # nothing queued: the delivery loop knows of nothing waiting
    async with elsewhere.transaction() as s:
        await queue_group_text(
            s,
            bot.config,
            now=datetime.now(UTC),
            group_id="g1",
            text="来自另一个进程",
            idem_key="elsewhere:1",
            platform="console",
        )
    await until(lambda: any(line.endswith("来自另一个进程") for line in bot.console.lines))
