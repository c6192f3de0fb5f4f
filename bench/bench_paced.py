"""CPU per event in process at a steady rate: the dispatcher's and delivery's share, without HTTP.

    python bench/bench_paced.py [--rate 20] [-n 300] [--rounds 5] [--compare ../other-checkout]

A ``Bot`` with its loops (linger, dispatch, delivery to the console sender) on a fresh SQLite
file; after a warm-up, ``-n`` group messages from 200 members, every third a ``/签到``, are
submitted straight to the inbox at ``--rate`` a second. The figure is the process's CPU time
from the first submit until every event is processed, divided by the events. It leaves out
aiohttp's share (see ``bench_light.py`` for the whole server), so a change to the batch's or
the delivery round's fixed costs shows with less noise.

``--compare DIR`` runs the checkout in DIR and this one alternately, ``--rounds`` times each,
each run in a new process (the host's pace drifts: neighbours in time are compared).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def one_run(n: int, rate: float) -> float:
    """Run in the checkout this file sits in; returns ms of CPU per event."""
    from sqlalchemy import func, select

    from bot import heap
    from bot.config import parse_config
    from bot.events import MessageReceived
    from bot.runtime import Bot
    from handlers import FEATURES
    from storage.models import InboxEvent

    def message(key: str, text: str, user: str) -> MessageReceived:
        return MessageReceived(
            dedup_key=key,
            platform="console",
            group_id="g1",
            occurred_at=datetime.now(UTC),
            user_id=user,
            user_name=user,
            text=text,
            message_id=key,
        )

    with tempfile.TemporaryDirectory() as d:
        raw = {
            "bot": {"timezone": "Asia/Shanghai"},
            "groups": [{"id": "g1", "platform": "console", "name": "测试群"}],
            "storage": {"url": f"sqlite+aiosqlite:///{d}/paced.db"},
        }
        bot = Bot(parse_config(raw, FEATURES, environ={}), console_sink=lambda _line: None)
        await bot.start()
        for i in range(60):  # imports, caches, first rows
            text = "/签到" if i % 3 == 0 else "你好"
            await bot.inbox.submit(message(f"w{i}", text, f"warm{i}"))
        await asyncio.sleep(2)
        heap.settle()
        cpu0, t0 = time.process_time(), time.perf_counter()
        for i in range(n):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            text = "/签到" if i % 3 == 0 else "今天天气不错"
            await bot.inbox.submit(message(f"k{i}", text, f"m{i % 200}"))
        queued = select(func.count()).select_from(InboxEvent).where(InboxEvent.status == "queued")
        while True:
            async with bot.db.read() as s:
                if not await s.scalar(queued):
                    break
            await asyncio.sleep(0.05)
        cpu = time.process_time() - cpu0
        await bot.stop()
    return cpu / n * 1000


def _spawn(root: Path, n: int, rate: float) -> float:
    out = subprocess.run(
        [sys.executable, str(root / "bench" / "bench_paced.py"), "--one", f"{n},{rate}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.split()[-1])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        sys.path.insert(0, str(ROOT))
        n, rate = sys.argv[2].split(",")
        print(f"{asyncio.run(one_run(int(n), float(rate))):.3f}")
        return
    p = argparse.ArgumentParser()
    p.add_argument("--rate", type=float, default=20)
    p.add_argument("-n", type=int, default=300)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--compare", default="", help="another checkout, run alternately")
    a = p.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.hostref import Probe, machine, reference_ms

    before = reference_ms()
    probe = Probe()
    probe.start()
    roots = [Path(a.compare).resolve(), ROOT] if a.compare else [ROOT]
    runs: dict[Path, list[float]] = {r: [] for r in roots}
    for _ in range(a.rounds):
        for r in roots:
            runs[r].append(_spawn(r, a.n, a.rate))
    print(
        machine(
            f"SQLite, in process, {a.rate:g} events/s, every third a /签到", before, probe.stop()
        )
    )
    for r, ms in runs.items():
        shown = ", ".join(f"{x:.2f}" for x in ms)
        print(f"{r!s:<40} ms CPU/event: median {statistics.median(ms):.2f} ({shown})")
    if a.compare:
        pairs = [b / o for o, b in zip(runs[roots[0]], runs[ROOT], strict=True)]
        print(f"this checkout / the other, per pair: median {statistics.median(pairs):.3f}")


if __name__ == "__main__":
    main()
