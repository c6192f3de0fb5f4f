"""Rows for the overview benchmark: ``groups`` groups with a month of life each, written straight
into a migrated database (SQLite with ``sqlite3``, PostgreSQL with ``COPY``).

The groups were first seen 90 days ago (``created_at``; the bench also moves the bot's first
start back), so every one of the 30 days is shown. Per group: ``members`` members (one in ten
has left), a member-count snapshot two months back, a ``stats_daily`` row on each of the 30
days (a join every 5th day, a leave every 7th, the count written on those days), ``speakers``
members active each day, ``checkins`` check-ins a day (the first by a member who also spoke),
and ``posts`` sent outbox messages a day.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

DAYS = 30


@dataclass(frozen=True)
class Shape:
    groups: int
    members: int = 20
    speakers: int = 3
    checkins: int = 2
    posts: int = 2


Rows = dict[str, tuple[list[str], Iterator[tuple[Any, ...]]]]


def rows(shape: Shape, today: date, now: datetime) -> Rows:
    """Column names and a row generator per table."""
    days = [today - timedelta(days=b) for b in range(DAYS)]
    m = shape.members
    gids = [f"b{g}" for g in range(shape.groups)]

    def groups() -> Iterator[tuple[Any, ...]]:
        for i, gid in enumerate(gids):
            yield gid, "onebot", f"群{i}", "", True, now - timedelta(days=90)

    def members() -> Iterator[tuple[Any, ...]]:
        for gid in gids:
            for u in range(m):
                yield gid, f"u{u}", f"成员{u}", u % 10 != 9, "", now, now, 0, 5

    def daily() -> Iterator[tuple[Any, ...]]:
        for g, gid in enumerate(gids):
            yield gid, today - timedelta(days=60), 0, 0, 0, m - 3
            for b, d in enumerate(days):
                joins, leaves = int(b % 5 == 0), int(b % 7 == 0)
                snap = m - 1 - b // 10 if joins or leaves else None
                yield gid, d, joins, leaves, 8 + (g + b) % 5, snap

    def activity() -> Iterator[tuple[Any, ...]]:
        for g, gid in enumerate(gids):
            for b, d in enumerate(days):
                for k in range(shape.speakers):
                    yield gid, d, f"u{(g + b + k) % m}", 3, now

    def checkins() -> Iterator[tuple[Any, ...]]:
        n = 0
        for g, gid in enumerate(gids):
            for b, d in enumerate(days):
                for k in range(shape.checkins):
                    n += 1
                    user = f"u{(g + b + k * 7) % m}"  # k = 0 also spoke that day
                    yield n, gid, user, d, now, 10, 1, "", "", False, False, None

    def outbox() -> Iterator[tuple[Any, ...]]:
        n = 0
        for gid in gids:
            for d in days:
                at = datetime.combine(d, datetime.min.time(), UTC) + timedelta(hours=2)
                for _ in range(shape.posts):
                    n += 1
                    payload = '{"text": "早安"}'
                    yield n, None, gid, "onebot", "bridge", "text", payload, "sent", 1, at, at

    return {
        "groups": (["id", "platform", "name", "member_version", "active", "created_at"], groups()),
        "members": (
            [
                "group_id",
                "user_id",
                "name",
                "in_group",
                "role",
                "first_seen_at",
                "joined_at",
                "join_count",
                "messages",
            ],
            members(),
        ),
        "stats_daily": (["group_id", "day", "joins", "leaves", "messages", "members"], daily()),
        "stats_activity": (["group_id", "day", "user_id", "messages", "last_at"], activity()),
        "checkins": (
            [
                "id",
                "group_id",
                "user_id",
                "day",
                "at",
                "points",
                "streak",
                "content",
                "image_url",
                "makeup",
                "void",
                "event_id",
            ],
            checkins(),
        ),
        "outbox": (
            [
                "id",
                "idem_key",
                "group_id",
                "channel",
                "target",
                "action",
                "payload",
                "status",
                "attempts",
                "next_attempt_at",
                "last_attempt_at",
                "last_error",
                "event_id",
                "created_at",
                "sent_at",
            ],
            ((*r, "", None, r[-1], r[-1]) for r in outbox()),
        ),
    }


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    return v


def fill_sqlite(path: str, data: Rows) -> None:
    con = sqlite3.connect(path)
    for table, (cols, gen) in data.items():
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        con.executemany(sql, (tuple(_sqlite_value(v) for v in r) for r in gen))
    con.commit()  # no ANALYZE: a SQLite database in service has no statistics either
    con.close()


async def fill_pg(url: str, data: Rows) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for table, (cols, gen) in data.items():
            await conn.copy_records_to_table(table, records=list(gen), columns=cols)
        await conn.execute("VACUUM ANALYZE")  # what autovacuum does to a table in service
    finally:
        await conn.close()
