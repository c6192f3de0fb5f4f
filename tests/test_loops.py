"""The running loops wake for what is stored here, without waiting for their idle poll.

The dispatch and outbox loops of a started bot (workers on, the real clock) with the idle poll
set to an hour: whatever is processed or delivered below got there by a wake-up alone —
an event after an idle spell, a follow-up event queued by a handler, a retry coming due.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot import loops
from bot.dispatch.context import Context
from bot.dispatch.router import Router
from bot.events import MessageReceived
from bot.outbox.senders import Retry
from bot.runtime import Bot
from tests.harness import make_config

WAIT_S = 15.0  # a bound on a wait for something that happens at once, not a timing claim


async def until(check: Callable[[], bool]) -> None:
    for _ in range(int(WAIT_S / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not done (a loop did not wake)")


def message(key: str, text: str, user: str = "alice") -> MessageReceived:
    from datetime import UTC, datetime

    return MessageReceived(
        dedup_key=key,
        platform="console",
        group_id="g1",
        occurred_at=datetime.now(UTC),
        user_id=user,
        user_name=user,
        text=text,
        message_id=key,
    )


@pytest.fixture
async def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Bot]:
    monkeypatch.setattr(loops, "IDLE_POLL_S", 3600.0)
    b = Bot(make_config(tmp_path), migrate=False, console_sink=lambda _line: None)
    await b.db.create_all()
    echo = Router("test-echo")

    @echo.on(MessageReceived)
    async def follow_up(ctx: Context) -> None:
        msg = ctx.message
        assert msg is not None
        if msg.text == "ping":  # a handler queueing a follow-up event in its unit of work
            await ctx.emit(message(msg.dedup_key + ":next", "pong please"))
        elif msg.text == "pong please":
            await ctx.reply("pong")

    b.services.routers.append(echo)
    await b.start()
    yield b
    await b.stop()


def said(bot: Bot, text: str) -> bool:
    return any(line.endswith(text) for line in bot.console.lines)


async def test_an_event_after_an_idle_spell_is_processed_and_answered(bot: Bot) -> None:
    await bot.inbox.submit(message("e1", "/签到"))
    await until(lambda: any("签到" in line for line in bot.console.lines))
    await asyncio.sleep(1.5)  # idle: both loops are asleep now
    before = len(bot.console.lines)
    await bot.inbox.submit(message("e2", "/签到", user="bob"))
    await until(lambda: len(bot.console.lines) > before)
    assert bot.dispatcher.processed >= 2


async def test_a_follow_up_event_is_run_right_after_its_batch(bot: Bot) -> None:
    await bot.inbox.submit(message("p1", "ping"))
    await until(lambda: said(bot, "pong"))


async def test_a_message_to_retry_is_sent_when_due_with_nothing_else_queued(bot: Bot) -> None:
    console = bot.console
    tries: list[Any] = []

    class Flaky:
        async def send(self, row: Any) -> None:
            tries.append(row.id)
            if len(tries) == 1:
                raise Retry("busy", after_s=0.3)
            await console.send(row)

    assert bot.outbox is not None
    bot.outbox.senders["console"] = Flaky()
    await bot.inbox.submit(message("r1", "ping"))
    await until(lambda: said(bot, "pong"))
    assert len(tries) == 2


async def test_a_batch_that_queued_nothing_does_not_wake_delivery(bot: Bot) -> None:
    looks: list[str] = []

    def seen(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        if "FROM outbox" in statement:
            looks.append(statement)

    await bot.inbox.submit(message("c0", "hello"))  # (and the loops' first looks are over)
    await until(lambda: bot.dispatcher.processed >= 1)
    await asyncio.sleep(0.3)
    engine = bot.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        await bot.inbox.submit(message("c1", "just chatting"))
        await until(lambda: bot.dispatcher.processed >= 2)
        await asyncio.sleep(0.3)  # room for a wake-up that should not come
        assert looks == []
        await bot.inbox.submit(message("c2", "pong please"))  # answered: delivery looks
        await until(lambda: said(bot, "pong"))
        assert looks
    finally:
        event.remove(engine, "before_cursor_execute", seen)
