"""How tests/data/db-2026-11-29.sqlite.gz was made: a SQLite database written by groupbot as it
was on 2026-11-29 (migration head 0009), with rows in the main tables.

The file is the point, not this script: it stands for a database operators already run, and
tests/test_upgrade_existing.py upgrades a copy with today's migrations. Never regenerate it
with later code (the rows would then be written by the new schema); to pin a later schema, make
a new file with a new date beside it. The script ran with the code of commit 722f021; later
code need not run it as it stands (it is kept as the record of what the file holds).

    python -m tests.data.make_db_2026_11_29 /tmp/db-2026-11-29.sqlite
    gzip -9 -n -c /tmp/db-2026-11-29.sqlite > tests/data/db-2026-11-29.sqlite.gz
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path

from bot.config import parse_config
from bot.runtime import Bot
from handlers import FEATURES
from handlers.programme.ticks import tick
from tests.fakes.clock import DEFAULT_START, FakeClock
from tests.harness import BASE, Harness, merge

SLOT = {
    "id": "benefit",
    "days": ["wed"],
    "time": "10:00",
    "theme": "会员福利日",
    "content": "今天是{weekday}会员福利日！",
    "targets": ["g1"],
}
RULES = {"banned_words": ["代购"], "banned": {"actions": ["delete", "warn"]}}


async def make(path: Path) -> None:
    url = f"sqlite+aiosqlite:///{path}"
    extra = {"storage": {"url": url}, "programme": {"slots": [SLOT]}, "rules": RULES}
    data = merge(BASE, extra)
    config = parse_config(data, FEATURES, environ={})
    clock = FakeClock(DEFAULT_START - timedelta(minutes=5))  # Wednesday 09:55 in Shanghai
    bot = Bot(config, clock, workers=False, migrate=True, console_sink=lambda _line: None)
    await bot.start()  # migrates to the head of the day
    h = Harness(bot, clock)
    await h.say("alice", "/签到 今天走了8000步", name="爱丽丝")
    await h.join("bob", inviter="alice")
    await h.say("bob", "/签到")
    await h.say("bob", "广告 代购 加我")
    await h.say("gadmin", "/补签卡 @alice 2", mentions=("alice",))
    clock.advance(timedelta(minutes=6))  # 10:01: the benefit-day slot is due
    await tick(bot)
    await bot.drain()
    await bot.stop()
    for line in bot.console.lines:
        print(line)


def compact(path: Path) -> None:
    """One small self-contained file: WAL folded in, small pages."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("PRAGMA page_size=512")
    con.execute("VACUUM")
    con.close()


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.unlink(missing_ok=True)
    asyncio.run(make(out))
    compact(out)
    for name in (".writelock", "-wal", "-shm"):
        Path(str(out) + name).unlink(missing_ok=True)
    print(out, out.stat().st_size, "bytes")
