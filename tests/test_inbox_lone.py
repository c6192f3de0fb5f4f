"""A lone submit after a quiet spell writes its own row; submits close together still share
one group commit (bot/inbox.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import inbox as inbox_mod
from bot.runtime import Bot
from storage.models import InboxEvent
from tests.harness import make_config
from tests.test_loops import message


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    b = Bot(make_config(tmp_path), migrate=False, workers=False, console_sink=lambda _l: None)
    await b.db.create_all()
    await b.start()
    yield b
    await b.stop()


@pytest.fixture
def writes(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """(rows, written by the writer task) for every inbox write."""
    seen: list[tuple[int, bool]] = []
    write = bot.inbox._write

    async def spy(rows: list[dict[str, Any]]) -> Any:
        seen.append((len(rows), asyncio.current_task() is bot.inbox._task))
        return await write(rows)

    monkeypatch.setattr(bot.inbox, "_write", spy)
    return seen


async def stored(bot: Bot) -> int:
    async with bot.db.read() as s:
        return int((await s.execute(select(func.count()).select_from(InboxEvent))).scalar_one())


async def test_a_lone_submit_writes_its_own_row_committed_before_it_returns(
    bot: Bot, writes: list[tuple[int, bool]]
) -> None:
    before = await stored(bot)
    await asyncio.sleep(inbox_mod.QUIET_S * 2)
    res = await bot.inbox.submit(message("lone-1", "hi"))
    assert res.new and writes == [(1, False)]  # written by the submitting task
    assert await stored(bot) == before + 1
    await asyncio.sleep(inbox_mod.QUIET_S * 2)
    again = await bot.inbox.submit(message("lone-1", "hi"))  # a redelivery: same answer
    assert not again.new and await stored(bot) == before + 1


async def test_submits_close_together_share_a_group_commit(
    bot: Bot, writes: list[tuple[int, bool]]
) -> None:
    before = await stored(bot)
    await asyncio.sleep(inbox_mod.QUIET_S * 2)
    n = 40
    results = await asyncio.gather(*(bot.inbox.submit(message(f"b{i}", "hi")) for i in range(n)))
    assert all(r.new for r in results) and await stored(bot) == before + n
    assert sum(rows for rows, _ in writes) == n
    assert len(writes) <= 3  # the first alone at most; the rest through the writer, together
    assert any(by_writer and rows > 1 for rows, by_writer in writes)
