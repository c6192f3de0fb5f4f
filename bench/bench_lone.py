"""CPU and statements of one event processed alone, in-process (the everyday-load case).

    python bench/bench_lone.py [--mix chat,checkin] [-n 300] [--gap 0.05] [--profile FILE]

A started bot (dispatch and delivery loops, real clock, a fresh SQLite file or ``--db``) gets
the bench_light.py messages one at a time through the inbox, each after the previous one was
processed and its reply delivered, with ``--gap`` seconds of quiet in between — so every event
is a batch of its own (``[bot] dispatch_linger_ms = 0``: at 20 events/s the default linger lets
two or three events share a batch; this measures the path one batch takes). Printed per event:
the process's CPU time (``time.process_time``, every thread, from submit to done, plus the
quiet gap's share: the idle loops' cost) and the statements SQLAlchemy ran, by kind; the
inbox's own writer thread adds one transaction (BEGIN, a dedup SELECT, the INSERT, COMMIT)
that is counted apart.
``--profile`` writes cProfile stats of the measured part (CPU clock).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_light import GROUPS, SECRET, body
from bot.adapters.base import Request
from bot.adapters.onebot import parse, sign
from bot.config import parse_config
from bot.runtime import Bot
from handlers import FEATURES


def message(i: int, checkin: bool, rnd: random.Random) -> Any:
    """One signed OneBot group message as the adapter parses it (bench_light's bodies)."""
    data = body(i, checkin, rnd)
    req = Request(headers={"X-Signature": sign(SECRET, data)}, body=data)
    return parse(SECRET, req, time.time())


def kind(sql: str) -> str:
    words = sql.split()
    if words[0].upper() in ("SELECT", "WITH") and "FROM" in words[:-1]:
        return "SELECT … FROM " + words[words.index("FROM") + 1]
    return " ".join(words[:3])[:60]


async def run(mix: str, n: int, gap: float, db: str, profile: str) -> None:
    raw: dict[str, Any] = {
        "storage": {"url": db},
        "onebot": {"secret": SECRET},
        "bot": {"dispatch_linger_ms": 0},  # each event a batch of its own: the path measured
        "groups": [{"id": str(g), "platform": "console"} for g in GROUPS],
    }
    bot = Bot(parse_config(raw, FEATURES, environ={}), console_sink=lambda _line: None)
    await bot.start()
    stmts: collections.Counter[str] = collections.Counter()
    counting = False

    @event.listens_for(bot.db.engine.sync_engine, "before_cursor_execute")
    def _count(_c: Any, _cur: Any, sql: str, *_a: Any) -> None:
        if counting:
            stmts[kind(sql)] += 1

    @event.listens_for(bot.db.engine.sync_engine, "begin")
    def _begin(_c: Any) -> None:
        if counting:
            stmts["(begin)"] += 1

    rnd = random.Random(7)
    every = 3 if mix == "mixed" else (1 if mix == "checkin" else 0)
    events = [message(i, every > 0 and i % every == 0, rnd) for i in range(n + 50)]

    async def one(ev: Any) -> None:
        want = bot.dispatcher.processed + 1
        await bot.inbox.submit(ev)
        # (polling: the loops under test own their wake-ups)
        while bot.dispatcher.processed < want or (bot.outbox and bot.outbox.waiting):  # noqa: ASYNC110
            await asyncio.sleep(0.001)

    for ev in events[:50]:  # warm-up: imports, caches, first rows
        await one(ev)
    await asyncio.sleep(1)
    prof = cProfile.Profile(time.process_time) if profile else None
    counting = True
    cpu0, t0 = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    for ev in events[50:]:
        await one(ev)
        await asyncio.sleep(gap)
    if prof:
        prof.disable()
        prof.dump_stats(profile)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - t0
    counting = False
    await bot.stop()
    total = sum(stmts.values())
    print(
        f"{mix}: {n} events, {cpu / n * 1000:.2f} ms CPU/event ({wall:.1f} s), "
        f"{total / n:.1f} statements/event (inbox writer thread not counted)"
    )
    for k, v in stmts.most_common():
        print(f"  {v / n:6.2f}  {k}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mix", default="chat,checkin", help="chat, checkin and/or mixed")
    p.add_argument("-n", type=int, default=300)
    p.add_argument("--gap", type=float, default=0.05, help="quiet seconds between events")
    p.add_argument("--db", default="", help="database URL (default: a fresh SQLite file)")
    p.add_argument("--profile", default="", help="cProfile stats of the measured part to FILE")
    a = p.parse_args()
    for mix in a.mix.split(","):
        with tempfile.TemporaryDirectory() as d:
            db = a.db or f"sqlite+aiosqlite:///{d}/lone.db"
            prof = f"{a.profile}.{mix}" if a.profile else ""
            asyncio.run(run(mix, a.n, a.gap, db, prof))


if __name__ == "__main__":
    main()
