"""``GET /admin/`` with many groups, through real HTTP on loopback: milliseconds and statements.

    python bench/bench_overview.py [--groups 2000,10000] [--runs 7] [--db postgresql+asyncpg://…]

Each group gets a month of life (bench/overview_seed.py: members, a daily stats row each day,
three speakers and two check-ins a day, two sent outbox messages a day). Timed per size:
- ``cold``: no per-date totals kept yet (just after the upgrade): all 30 dates computed live;
- the totals job's first run (``keep``), which keeps the 29 ended dates;
- ``/admin/`` then (the everyday case: today live, the rest kept), page 1 and the last page;
- ``/api/groups`` (every group in one JSON answer, as the contract has it), for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event

from bench.overview_seed import Shape, fill_pg, fill_sqlite, rows
from bench.pgutil import describe_db, drop_url, fresh_url
from bot.first_start import KEY as FIRST_START
from bot.web.app import create_app
from handlers.stats.daily import today_of
from handlers.stats.totals import keep_totals
from storage.models import GroupSetting
from tests.harness import Harness, start_harness

TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def timed(fn: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, float, float]:
    """(median, min, max) milliseconds of ``runs`` calls after one warm-up call."""
    await fn()
    took = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        took.append((time.perf_counter() - t) * 1000)
    return statistics.median(took), min(took), max(took)


def show(label: str, figures: tuple[float, float, float], extra: str = "") -> None:
    med, lo, hi = figures
    print(f"  {label:<28} median {med:7.1f} ms  (min {lo:.1f}, max {hi:.1f}){extra}", flush=True)


async def bench_size(h: Harness, client: TestClient, groups: int, runs: int) -> None:
    statements: list[str] = []
    engine = h.bot.db.engine.sync_engine

    def count(_c: Any, _u: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    async def get(path: str) -> int:
        r = await client.get(path, headers=AUTH)
        body = await r.read()
        assert r.status == 200, (r.status, body[:300])
        return len(body)

    last = -(-(groups + 2) // 50)
    show("/admin/ cold (30 dates live)", await timed(lambda: get("/admin/"), max(2, runs // 3)))
    t = time.perf_counter()
    kept = await keep_totals(h.bot)
    print(f"  totals job, first run: {kept} dates in {(time.perf_counter() - t) * 1000:.0f} ms")
    t = time.perf_counter()
    kept = await keep_totals(h.bot)
    print(f"  totals job, next run: {kept} dates in {(time.perf_counter() - t) * 1000:.0f} ms")
    event.listen(engine, "before_cursor_execute", count)
    size = await get("/admin/")
    event.remove(engine, "before_cursor_execute", count)
    extra = f"  [{size / 1000:.0f} kB, {len(statements)} statements]"
    show("/admin/", await timed(lambda: get("/admin/"), runs), extra)
    show(f"/admin/?page={last}", await timed(lambda: get(f"/admin/?page={last}"), runs))
    show("/api/groups (all groups)", await timed(lambda: get("/api/groups"), max(2, runs // 3)))


async def run(groups: int, runs: int, db: str | None, shape: Shape) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = await fresh_url(db, Path(tmp), f"ov{groups}")
        h = await start_harness(Path(tmp), {"bot": {"api_token": TOKEN}, "storage": {"url": url}})
        try:
            now = h.clock.now()
            data = rows(shape, today_of(h.bot.config, "b0", now), now)
            t = time.perf_counter()
            if url.startswith("sqlite"):
                fill_sqlite(url.split("///", 1)[1], data)
            else:
                await fill_pg(url, data)
            async with h.bot.db.transaction() as s:  # the bot has run for 90 days
                started = await s.get(GroupSetting, FIRST_START)
                assert started is not None
                started.value = (now - timedelta(days=90)).isoformat()
            print(
                f"{groups} groups on {describe_db(url)} "
                f"(seeded in {time.perf_counter() - t:.0f} s: {shape})",
                flush=True,
            )
            async with TestClient(TestServer(create_app(h.bot, manage=False))) as client:
                await bench_size(h, client, groups, runs)
        finally:
            await h.bot.stop()
            await drop_url(url)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", default="2000,10000", help="comma-separated group counts")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--members", type=int, default=20)
    ap.add_argument("--db", default="", help="a PostgreSQL URL (default: a SQLite file)")
    a = ap.parse_args()
    for n in (int(x) for x in a.groups.split(",")):
        asyncio.run(run(n, a.runs, a.db or None, Shape(n, members=a.members)))


if __name__ == "__main__":
    main()
