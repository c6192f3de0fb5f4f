"""``GET /admin/`` with many groups: milliseconds per page and statements per page.

python bench/bench_overview.py [--groups 10000] [--members 20] [--runs 5] [--per-group]

Each group has ``--members`` members, a member-count snapshot two months back, counters on
every third day of the 30, and two members active on each of those days.
``--per-group`` also times the old way (``daily_series`` for one group after another).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event

from bot.web.app import create_app
from handlers.stats.daily import daily_series, today_of
from tests.harness import start_harness

TOKEN = "bench-token"


def fill(db: Path, groups: int, members: int, today: Any, now: str) -> None:
    con = sqlite3.connect(db)
    days = [today - timedelta(days=b) for b in range(0, 30, 3)]
    con.executemany(
        "INSERT INTO groups (id, platform, name, member_version, active, created_at) "
        "VALUES (?, 'onebot', ?, '', 1, ?)",
        [(f"b{g}", f"群{g}", now) for g in range(groups)],
    )
    con.executemany(
        "INSERT INTO members (group_id, user_id, name, in_group, role, first_seen_at, "
        "join_count, messages) VALUES (?, ?, '', 1, '', ?, 1, 0)",
        [(f"b{g}", f"u{u}", now) for g in range(groups) for u in range(members)],
    )
    old = (today - timedelta(days=60)).isoformat()
    con.executemany(
        "INSERT INTO stats_daily (group_id, day, joins, leaves, messages, members) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(f"b{g}", old, 0, 0, 0, members - 2) for g in range(groups)]
        + [(f"b{g}", d.isoformat(), 1, 0, 9, None) for g in range(groups) for d in days],
    )
    con.executemany(
        "INSERT INTO stats_activity (group_id, day, user_id, messages, last_at) "
        "VALUES (?, ?, ?, 3, ?)",
        [
            (f"b{g}", d.isoformat(), f"u{u}", now)
            for g in range(groups)
            for d in days
            for u in (0, 1)
        ],
    )
    con.commit()
    con.close()


async def run(groups: int, members: int, runs: int, per_group: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = await start_harness(Path(tmp), {"bot": {"api_token": TOKEN}})
        now = h.clock.now()
        today = today_of(h.bot.config, "b0", now)
        started = time.perf_counter()
        fill(Path(tmp) / "t.db", groups, members, today, now.strftime("%Y-%m-%d %H:%M:%S.%f"))
        print(f"seeded {groups} groups in {time.perf_counter() - started:.1f} s")
        statements: list[str] = []

        def count(_c: Any, _u: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        engine = h.bot.db.engine.sync_engine
        async with TestClient(TestServer(create_app(h.bot, manage=False))) as client:
            took = []
            for i in range(runs):
                statements.clear()
                event.listen(engine, "before_cursor_execute", count)
                t = time.perf_counter()
                r = await client.get("/admin/", headers={"Authorization": f"Bearer {TOKEN}"})
                body = await r.read()
                took.append((time.perf_counter() - t) * 1000)
                event.remove(engine, "before_cursor_execute", count)
                assert r.status == 200, r.status
                if i == 0:
                    print(f"page: {len(body) / 1e6:.1f} MB, {len(statements)} statements")
            took.sort()
            print(
                f"GET /admin/ with {groups} groups: median {took[len(took) // 2]:.0f} ms, "
                f"min {took[0]:.0f} ms, max {took[-1]:.0f} ms over {runs} runs"
            )
        if per_group:
            t = time.perf_counter()
            async with h.bot.db.read() as s:
                for g in range(groups):
                    await daily_series(s, h.bot.config, f"b{g}", 30, now)
            print(f"per group (the old way): {(time.perf_counter() - t) * 1000:.0f} ms")
        await h.bot.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", type=int, default=10_000)
    ap.add_argument("--members", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--per-group", action="store_true")
    a = ap.parse_args()
    asyncio.run(run(a.groups, a.members, a.runs, a.per_group))


if __name__ == "__main__":
    main()
