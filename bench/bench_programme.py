"""Programme fan-out: one slot to 10,000 groups.

    python bench/bench_programme.py [--groups 10000] [--pace-groups 200]

Part 1: time from the tick to every occurrence claimed in the ledger and queued in the outbox
(one robot key per group): the tick stores one event per occurrence, the dispatcher runs the
programme's handler for each — the one path every post takes. Then a second tick (must add
nothing). Part 2: delivery at pace —
the outbox delivers the queued posts to a local fake WeCom webhook; with one key per group each
robot allows 20 calls a minute, so the figure is the delivery rate the worker sustains.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from handlers import FEATURES

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Config, parse_config
from bot.runtime import Bot
from handlers.programme.ticks import tick
from tests.fakes.clock import FakeClock
from tests.fakes.wecom_api import FakeWeCom

WED_10 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def config(tmp: Path, groups: int, api_base: str) -> Config:
    return parse_config(
        {
            "storage": {"url": f"sqlite+aiosqlite:///{tmp / 'p.db'}"},
            "wecom": {"api_base": api_base},
            "programme": {
                "slots": [
                    {
                        "id": "benefit",
                        "days": ["wed"],
                        "time": "10:00",
                        "theme": "会员福利日",
                        "content": "🎁 {weekday}会员福利日开始啦！",
                        "targets": ["tag:vip"],
                    }
                ]
            },
            "groups": [
                {
                    "id": f"wr{i:05d}",
                    "platform": "wecom",
                    "name": f"会员群{i}",
                    "webhook_key": f"key-{i}",
                    "tags": ["vip"],
                }
                for i in range(groups)
            ],
        },
        FEATURES,
        environ={},
    )


async def run(groups: int, pace_groups: int) -> dict[str, float]:
    clock = FakeClock(WED_10 - timedelta(minutes=5))
    async with FakeWeCom(clock) as fake:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            bot = Bot(
                config(tmp, groups, fake.url),
                clock,
                workers=False,
                migrate=False,
                console_sink=lambda _l: None,
            )
            await bot.db.create_all()
            await bot.start()
            clock.set(WED_10 + timedelta(seconds=1))
            t0 = time.perf_counter()
            claimed = await tick(bot)
            while await bot.dispatcher.run_once():
                pass
            enqueue_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            again = await tick(bot)
            second_s = time.perf_counter() - t1
            con = sqlite3.connect(tmp / "p.db")
            queued = con.execute("select count(*) from outbox where status='queued'").fetchone()[0]
            # delivery: deliver the first `pace_groups` groups' posts and time it
            con.execute(
                "update outbox set next_attempt_at = '2100-01-01 00:00:00' where group_id >= ?",
                (f"wr{pace_groups:05d}",),
            )
            con.commit()
            con.close()
            outbox = bot.outbox
            assert outbox is not None  # (workers=True)
            t2 = time.perf_counter()
            while len(fake.webhook_calls) < pace_groups:
                if not await outbox.run_once():
                    break
            deliver_s = time.perf_counter() - t2
            await bot.stop()
    return {
        "groups": groups,
        "claimed": claimed,
        "queued": queued,
        "enqueue_s": enqueue_s,
        "second_tick_new": again,
        "second_tick_s": second_s,
        "delivered": len(fake.webhook_calls),
        "deliver_per_s": len(fake.webhook_calls) / deliver_s if deliver_s else 0.0,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--groups", type=int, default=10_000)
    p.add_argument("--pace-groups", type=int, default=500)
    a = p.parse_args()
    r = asyncio.run(run(a.groups, a.pace_groups))
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, SQLite")
    print(
        f"{'groups':>8}{'claimed':>9}{'queued':>8}{'enqueue s':>11}{'2nd tick new':>14}"
        f"{'2nd tick s':>12}{'delivered':>11}{'sends/s':>9}"
    )
    print(
        f"{r['groups']:>8}{r['claimed']:>9}{r['queued']:>8}{r['enqueue_s']:>11.2f}"
        f"{r['second_tick_new']:>14}{r['second_tick_s']:>12.2f}{r['delivered']:>11}"
        f"{r['deliver_per_s']:>9.0f}"
    )


if __name__ == "__main__":
    main()
