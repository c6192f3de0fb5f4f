"""A database made by an earlier groupbot upgrades in place with ``groupbot db upgrade``: every
row is still there with the same values, the schema then matches the models, and the bot goes
on with the data (streaks continue, a posted programme slot is not posted again).

tests/data/db-2026-11-29.sqlite.gz was written by groupbot at migration head 0009
(tests/data/make_db_2026_11_29.py): members, check-ins and their stats, an invite, a warning
and its moderation log, a posted programme slot, inbox events and sent outbox rows."""

from __future__ import annotations

import asyncio
import gzip
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory

from bot.config import parse_config
from bot.runtime import Bot
from handlers import FEATURES
from handlers.app import main
from handlers.programme.ticks import tick
from storage.db import Database
from storage.migrate import alembic_config, current, schema_diff
from tests.fakes.clock import FakeClock
from tests.harness import BASE, Harness, merge

FIXTURE = Path(__file__).parent / "data" / "db-2026-11-29.sqlite.gz"
MAIN_TABLES = ("members", "checkins", "invites", "programme_occurrences", "outbox", "inbox")
WED_10_01 = datetime(2026, 11, 18, 2, 1, tzinfo=UTC)  # when the fixture's slot was posted


def _rows(path: Path) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every table's columns and rows, in primary-key order."""
    con = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'alembic_version'"
            )
        ]
        out = {}
        for t in tables:
            cols = [r[1] for r in con.execute(f"PRAGMA table_info({t})")]
            out[t] = (cols, con.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall())
        return out
    finally:
        con.close()


def _columns(path: Path, table: str, cols: list[str]) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(path)
    try:
        listed = ", ".join(cols)
        return con.execute(f"SELECT {listed} FROM {table} ORDER BY 1, 2").fetchall()
    finally:
        con.close()


def test_the_database_of_2026_11_29_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "groupbot.db"
    path.write_bytes(gzip.decompress(FIXTURE.read_bytes()))
    before = _rows(path)
    assert all(before[t][1] for t in MAIN_TABLES), "the fixture has rows in the main tables"
    url = f"sqlite+aiosqlite:///{path}"
    cfg = tmp_path / "groupbot.toml"
    cfg.write_text(f'[storage]\nurl = "{url}"\n', encoding="utf-8")

    assert main(["db", "upgrade", "-c", str(cfg)]) == 0

    # every row and value that was there is still there (new columns may have been added)
    for table, (cols, rows) in before.items():
        assert _columns(path, table, cols) == rows, table
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()

    async def check_schema() -> None:
        db = Database(url)
        assert await current(db) == head
        assert await schema_diff(db) == []
        await db.dispose()

    asyncio.run(check_schema())
    asyncio.run(_the_bot_goes_on(url))


async def _the_bot_goes_on(url: str) -> None:
    """The data means what it meant: alice's streak continues the next day with her make-up
    cards and her pending invite intact, and the Wednesday slot that was posted is not posted
    again."""
    slot = {
        "id": "benefit",
        "days": ["wed"],
        "time": "10:00",
        "theme": "会员福利日",
        "content": "今天是{weekday}会员福利日！",
        "targets": ["g1"],
    }
    config = parse_config(
        merge(BASE, {"storage": {"url": url}, "programme": {"slots": [slot]}}), FEATURES, environ={}
    )
    clock = FakeClock(WED_10_01 + timedelta(minutes=1))
    bot = Bot(config, clock, workers=False, migrate=False, console_sink=lambda _line: None)
    await bot.start()
    h = Harness(bot, clock)
    await tick(bot)
    await bot.drain()
    assert not [line for line in bot.console.lines if "会员福利日" in line]
    clock.advance(timedelta(days=1))
    said = await h.say("alice", "/签到")
    assert "连续 2 天" in said[0] and "累计 2 天" in said[0], said
    said = await h.say("alice", "/我的")
    assert "补签卡：2 张" in said[0] and "待确认 1" in said[0], said  # bob, invited by alice
    await bot.stop()
