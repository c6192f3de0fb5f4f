"""Broadcast fan-out: one ``POST /api/broadcasts`` to every group of a tag.

    python bench/bench_broadcast.py [--groups 2000,10000]

For each size, on a fresh SQLite file with that many console groups all carrying the tag:
the POST's time (checks, the broadcast and its group rows in one transaction), the fan-out's
time (the dispatcher's chunks of 200 groups until every group is queued in the outbox), the
longest single fan-out transaction (what holds SQLite's write lock at once), and the time of
``GET /api/broadcasts/{id}`` with every group queued. Checks one outbox row per group.

Figures (2 cores shared with other work, SQLite; claim per group and CHUNK 500 before, one
claim per chunk and CHUNK 200 now):

    before:  2000 groups: POST 14.6 ms | fan-out 2.24 s (894/s, longest transaction 563 ms)
            10000 groups: POST 155 ms  | fan-out 12.9 s (773/s, longest transaction 943 ms)
    now:     2000 groups: POST 85 ms   | fan-out 1.37 s (1456/s, longest transaction 140 ms)
            10000 groups: POST 47 ms   | fan-out 7.19 s (1390/s, longest transaction 172 ms)
            report of 10000 groups: 204 ms
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.config import parse_config
from bot.runtime import Bot
from bot.web.app import create_app
from handlers import FEATURES
from storage.models import OutboxMessage
from tests.fakes.clock import FakeClock

AUTH = {"Authorization": "Bearer bench"}


async def run(groups: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = parse_config(
            {
                "storage": {"url": f"sqlite+aiosqlite:///{Path(tmp) / 'b.db'}"},
                "bot": {"api_token": "bench"},
                "groups": [
                    {"id": f"g{i:05}", "name": f"群{i}", "tags": ["宝妈"]} for i in range(groups)
                ],
            },
            FEATURES,
            environ={},
        )
        bot = Bot(
            config, FakeClock(), workers=False, console_sink=lambda _l: None, keep_console=False
        )
        await bot.start()
        client = TestClient(TestServer(create_app(bot, manage=False)))
        await client.start_server()
        try:
            await bot.drain()  # (the periodic job's first run)
            body = {"targets": ["tag:宝妈"], "text": "{group} 的家人们，今晚 8 点直播"}
            t0 = time.perf_counter()
            r = await client.post("/api/broadcasts", json=body, headers=AUTH)
            post_s = time.perf_counter() - t0
            assert r.status == 201, await r.text()
            bid = (await r.json())["id"]
            longest = 0.0
            t0 = time.perf_counter()
            while True:
                t1 = time.perf_counter()
                n = await bot.dispatcher.run_once()
                longest = max(longest, time.perf_counter() - t1)
                if n == 0:
                    break
            fan_s = time.perf_counter() - t0
            async with bot.db.read() as s:
                rows = await s.scalar(select(func.count()).select_from(OutboxMessage))
            assert rows == groups, rows
            t0 = time.perf_counter()
            r = await client.get(f"/api/broadcasts/{bid}", headers=AUTH)
            report = await r.json()
            get_s = time.perf_counter() - t0
            assert report["counts"]["queued"] == groups
            print(
                f"{groups:>6} groups: POST {post_s * 1000:7.1f} ms | fan-out {fan_s:6.2f} s "
                f"({groups / fan_s:7.0f} groups/s, longest transaction {longest * 1000:6.1f} ms) "
                f"| report {get_s * 1000:7.1f} ms"
            )
        finally:
            await client.close()
            await bot.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", default="2000,10000")
    args = ap.parse_args()
    for n in (int(x) for x in args.groups.split(",")):
        asyncio.run(run(n))


if __name__ == "__main__":
    main()
