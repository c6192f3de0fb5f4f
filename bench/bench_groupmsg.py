"""企业群发 for one key slot to many customer groups: items, tasks, WeCom calls.

    python bench/bench_groupmsg.py [--groups 2000] [--owners 20]

A Wednesday 10:00 key slot for ``--groups`` customer groups owned by ``--owners`` staff: the
tick and the one posting path write one item per group; one ``groupmsg.round`` gathers them
into one task per owner and calls ``add_msg_template`` on a local fake WeCom; a later round
reads the results after every owner sent. Prints wall and CPU time per phase and the WeCom
calls made (the figures that do not depend on the machine's load are the call counts).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import parse_config
from bot.runtime import Bot
from handlers import FEATURES
from handlers.groupmsg import run_once
from handlers.programme.ticks import tick
from tests.fakes.clock import FakeClock
from tests.fakes.wecom_api import FakeWeCom

WED_10 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


async def phase(name: str, work: object) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    await work  # type: ignore[misc]
    print(
        f"{name:<38} {time.perf_counter() - wall:7.2f} s wall  "
        f"{time.process_time() - cpu:7.2f} s CPU"
    )


async def main(groups: int, owners: int) -> None:
    async with FakeWeCom() as fake:
        ids = [f"wr{i:05d}" for i in range(groups)]
        for i, g in enumerate(ids):
            fake.customer.add_chat(g, owner=f"staff{i % owners}")
        with tempfile.TemporaryDirectory() as tmp:
            config = parse_config(
                {
                    "storage": {"url": f"sqlite+aiosqlite:///{Path(tmp) / 'g.db'}"},
                    "wecom": {
                        "corp_id": "wwcorp",
                        "secret": "corp-secret",
                        "agent_id": fake.groupmsg.agent_id,
                        "api_base": fake.url,
                        "sync": {"enabled": False, "calls_per_second": 100},
                    },
                    "programme": {
                        "slots": [
                            {
                                "id": "b",
                                "days": ["wed"],
                                "time": "10:00",
                                "content": "会员福利日",
                                "key": True,
                            }
                        ]
                    },
                    "groups": [
                        {"id": g, "platform": "wecom", "groupmsg": {"owner": f"staff{i % owners}"}}
                        for i, g in enumerate(ids)
                    ],
                },
                FEATURES,
                environ={},
            )
            clock = FakeClock(WED_10 - timedelta(minutes=1))
            fake.clock = clock
            bot = Bot(config, clock, workers=False, console_sink=lambda _l: None, run_jobs=False)
            await bot.start()
            try:
                clock.advance(90)

                async def post() -> None:
                    await tick(bot)
                    await bot.drain()

                await phase(f"tick + posting path, {groups} items", post())
                clock.advance(30)
                await phase(f"round: gather + {owners} add_msg_template", run_once(bot))
                for m in list(fake.groupmsg.tasks):
                    fake.groupmsg.owner_sends(m)
                clock.advance(300)
                await phase("round: read every task's results", run_once(bot))
            finally:
                await bot.stop()
        calls = Counter(p for p, _ in fake.groupmsg.calls)
        print(f"tasks at WeCom: {len(fake.groupmsg.tasks)} (owners {owners})")
        print("WeCom calls:", ", ".join(f"{k} {v}" for k, v in sorted(calls.items())))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=2000)
    ap.add_argument("--owners", type=int, default=20)
    a = ap.parse_args()
    asyncio.run(main(a.groups, a.owners))
