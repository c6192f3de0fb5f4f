"""``GET /api/matrix`` with many groups, through real HTTP on loopback: milliseconds, CPU
milliseconds of this process, and statements.

    python bench/bench_matrix.py [--groups 2000,10000] [--runs 5] [--db postgresql+asyncpg://…]

The groups are seeded as for the overview (bench/overview_seed.py: a month of daily rows,
speakers and check-ins, sent outbox messages), plus per group and day a sent programme post
answered by two members, and per group a valid invite every third day and a dead letter
every fifth. Timed: the 7-day and 30-day matrix of every group (one JSON answer), a tag's
groups (a short list read through its ids), ``sort=-leave_rate&group_by=tag`` and the weekly
summary (``/api/reports/weekly``: two past weeks, every group with its changes), each
reading every figure anew (``[matrix] cache_s = 0``; in service, requests within ``cache_s``
of a reading share it and cost only the sorting and the answer).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event

from bench.overview_seed import DAYS, Rows, Shape, fill_pg, fill_sqlite, rows
from bench.pgutil import describe_db, drop_url, fresh_url
from bot.web.app import create_app
from handlers.stats.daily import today_of
from tests.harness import start_harness

TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TAGGED = 40  # configured groups carrying the tag 宝妈 (the rest are met on the wire)


def matrix_rows(shape: Shape, now: datetime) -> Rows:
    """Programme posts with their answers, valid invites and dead letters (module doc)."""
    gids = [f"b{g}" for g in range(shape.groups)]
    days = [now - timedelta(days=b, hours=1) for b in range(DAYS)]

    def posts() -> Iterator[tuple[Any, ...]]:
        n = 0
        for gid in gids:
            for at in days:
                n += 1
                yield n, "morning", gid, at, "sent", "早安", False, "", at

    def engaged() -> Iterator[tuple[Any, ...]]:
        n = 0
        for gid in gids:
            for _ in days:
                n += 1
                yield n, "u1", gid
                yield n, "u2", gid

    def invites() -> Iterator[tuple[Any, ...]]:
        n = 0
        for gid in gids:
            for b, at in enumerate(days[::3]):
                n += 1
                yield n, gid, f"new{b}", "u1", "onebot", "valid", at, at, None, None, None

    def dead() -> Iterator[tuple[Any, ...]]:
        n = 10**9
        for gid in gids:
            for at in days[::5]:
                n += 1
                yield n, None, gid, "onebot", "bridge", "text", "{}", "dead", 5, at, at, "x"

    return {
        "programme_occurrences": (
            ["id", "slot_id", "group_id", "at", "status", "theme", "late", "reason", "created_at"],
            posts(),
        ),
        "stats_post_engagement": (["occurrence_id", "user_id", "group_id"], engaged()),
        "invites": (
            [
                "id",
                "group_id",
                "invitee_id",
                "inviter_id",
                "source",
                "status",
                "joined_at",
                "qualified_at",
                "left_at",
                "credit_day",
                "credit_seq",
            ],
            invites(),
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
            ((*r, None, r[-2], None) for r in dead()),
        ),
    }


async def run(groups: int, runs: int, db: str | None) -> None:
    shape = Shape(groups)
    tagged = [
        {"id": f"b{i}", "platform": "console", "name": f"群{i}", "tags": ["宝妈"]}
        for i in range(TAGGED)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        url = await fresh_url(db, Path(tmp), f"mx{groups}")
        extra = {
            "bot": {"api_token": TOKEN},
            "storage": {"url": url},
            "groups": tagged,
            "matrix": {"cache_s": 0},  # every request reads the figures (the cost timed here)
        }
        h = await start_harness(Path(tmp), extra)
        try:
            now = h.clock.now()
            data = rows(shape, today_of(h.bot.config, "b0", now), now)
            more = matrix_rows(shape, now)
            t = time.perf_counter()
            for part in (data, more):
                if url.startswith("sqlite"):
                    fill_sqlite(url.split("///", 1)[1], part)
                else:
                    await fill_pg(url, part)
            print(
                f"{groups} groups on {describe_db(url)} (seeded in "
                f"{time.perf_counter() - t:.0f} s: {shape}, posts/invites/dead letters)",
                flush=True,
            )
            async with TestClient(TestServer(create_app(h.bot, manage=False))) as client:
                statements: list[str] = []

                def count(_c: Any, _u: Any, statement: str, *_: Any) -> None:
                    statements.append(statement)

                async def get(path: str) -> int:
                    r = await client.get(path, headers=AUTH)
                    body = await r.read()
                    assert r.status == 200, (r.status, body[:300])
                    return len(body)

                for path in (
                    "/api/matrix?days=7",
                    "/api/matrix?days=30",
                    "/api/matrix?tag=宝妈&days=30",
                    "/api/matrix?days=7&sort=-leave_rate&group_by=tag",
                    "/api/reports/weekly",  # the 周报: last full week and the week before
                ):
                    engine = h.bot.db.engine.sync_engine
                    statements.clear()
                    event.listen(engine, "before_cursor_execute", count)
                    size = await get(path)
                    event.remove(engine, "before_cursor_execute", count)
                    took, cpu = [], []
                    for _ in range(runs):
                        t, c = time.perf_counter(), time.process_time()
                        await get(path)
                        took.append((time.perf_counter() - t) * 1000)
                        cpu.append((time.process_time() - c) * 1000)
                    print(
                        f"  {path:<50} median {statistics.median(took):7.1f} ms "
                        f"(min {min(took):.1f}), CPU {statistics.median(cpu):7.1f} ms "
                        f"[{size / 1000:.0f} kB, {len(statements)} statements]",
                        flush=True,
                    )
        finally:
            await h.bot.stop()
            await drop_url(url)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", default="2000,10000", help="comma-separated group counts")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--db", default="", help="a PostgreSQL URL (default: a SQLite file)")
    a = ap.parse_args()
    for n in (int(x) for x in a.groups.split(",")):
        asyncio.run(run(n, a.runs, a.db or None))


if __name__ == "__main__":
    main()
