"""签到: a check-in plugin written the way a NoneBot2 user would write one.

``/签到`` in a group records one row per (group, member, local day) in SQLite (WAL,
``synchronous=NORMAL``, like groupbot) and bumps the member's total in the same transaction,
commits, then replies with the total; a second check-in the same day replies that it was done.
"""

import sqlite3
from datetime import date

from nonebot import get_driver, get_plugin_config, on_command
from nonebot.adapters.onebot.v11 import GroupMessageEvent
from pydantic import BaseModel


class Config(BaseModel):
    checkin_db: str = "checkin.db"


db = sqlite3.connect(get_plugin_config(Config).checkin_db, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.executescript(
    """
    CREATE TABLE IF NOT EXISTS checkin (
        group_id INTEGER NOT NULL, user_id INTEGER NOT NULL, day TEXT NOT NULL,
        UNIQUE (group_id, user_id, day)
    );
    CREATE TABLE IF NOT EXISTS checkin_total (
        group_id INTEGER NOT NULL, user_id INTEGER NOT NULL, total INTEGER NOT NULL,
        last_day TEXT NOT NULL, PRIMARY KEY (group_id, user_id)
    );
    """
)


@get_driver().on_shutdown
def _close() -> None:
    db.close()


def record(group_id: int, user_id: int, day: str) -> int | None:
    """The member's new total, or None when they already checked in on ``day``."""
    db.execute("BEGIN IMMEDIATE")
    try:
        cur = db.execute(
            "INSERT OR IGNORE INTO checkin (group_id, user_id, day) VALUES (?, ?, ?)",
            (group_id, user_id, day),
        )
        if cur.rowcount == 0:
            db.execute("ROLLBACK")
            return None
        row = db.execute(
            "INSERT INTO checkin_total (group_id, user_id, total, last_day) VALUES (?, ?, 1, ?)"
            " ON CONFLICT (group_id, user_id) DO UPDATE SET total = total + 1, last_day = ?"
            " RETURNING total",
            (group_id, user_id, day, day),
        ).fetchone()
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return int(row[0])


checkin = on_command("签到", priority=10, block=True)


@checkin.handle()
async def _(event: GroupMessageEvent) -> None:
    total = record(event.group_id, event.user_id, date.today().isoformat())
    if total is None:
        await checkin.finish("今天已经签到过了")
    name = event.sender.card or event.sender.nickname or str(event.user_id)
    await checkin.finish(f"{name} 签到成功！累计签到 {total} 天")
