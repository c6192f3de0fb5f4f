"""Check-in throughput end to end through /onebot, and leaderboard latency at scale.

    python bench/bench_checkin.py [-n 12000] [-c 64,128] [--rows 1000000] [--mode single,split]

Part 1 starts `groupbot serve` on a fresh SQLite file — one process (``single``), or with
``[server] split_worker`` (``split``: a second process handles and delivers) — fires N signed
OneBot `/签到` group messages from distinct members at concurrency C, waits until every event
is processed, and checks that exactly N check-ins exist (0 lost, 0 duplicated); it also shows
the CPU the processes used. Part 2 fills a database with ``--rows`` check-ins and times the
leaderboard queries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp

from handlers import FEATURES

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_callbacks import free_port, wait_up
from bench.hostref import Probe, machine, reference_ms
from bot.adapters.onebot import sign

SECRET = "bench-secret"


def config(tmp: Path, port: int, split: bool = False) -> Path:
    cfg = tmp / "c.toml"
    cfg.write_text(
        f"[server]\nport = {port}\nsplit_worker = {'true' if split else 'false'}\n"
        f'[storage]\nurl = "sqlite+aiosqlite:///{tmp / "c.db"}"\n'
        f'[onebot]\nsecret = "{SECRET}"\n[[groups]]\nid = "10001"\nplatform = "console"\n',
        encoding="utf-8",
    )
    return cfg


def body(i: int) -> bytes:
    return json.dumps(
        {
            "time": int(time.time()),
            "self_id": 1,
            "post_type": "message",
            "message_type": "group",
            "message_id": i,
            "group_id": 10001,
            "user_id": 100000 + i,
            "message": [{"type": "text", "data": {"text": "/签到"}}],
            "sender": {"nickname": f"会员{i}", "role": "member"},
        }
    ).encode()


def cpu_ticks(pid: int) -> int:
    """User + system CPU of a process, in clock ticks (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


async def part1(n: int, conc: int, tmp: Path, split: bool) -> dict[str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    for f in list(tmp.glob("c.db*")):  # noqa: ASYNC240  (set-up, before anything runs)
        f.unlink()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "handlers.app",
            "serve",
            "-c",
            str(config(tmp, port, split)),
            "--log-level",
            "ERROR",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bodies = [body(i) for i in range(n)]
    lat: list[float] = []
    try:
        await wait_up(base)
        await asyncio.sleep(1)  # (split: the worker process is importing)
        pids = [proc.pid, *children(proc.pid), os.getpid()]
        ticks0 = [cpu_ticks(p) for p in pids]
        queue = list(range(n))
        start = time.perf_counter()

        async def worker(http: aiohttp.ClientSession) -> None:
            while queue:
                b = bodies[queue.pop()]
                h = {"Content-Type": "application/json", "X-Signature": sign(SECRET, b)}
                t0 = time.perf_counter()
                async with http.post(f"{base}/onebot", data=b, headers=h) as r:
                    assert r.status == 204
                lat.append(time.perf_counter() - t0)

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as http:
            await asyncio.gather(*(worker(http) for _ in range(conc)))
        acked = time.perf_counter()
        con = sqlite3.connect(tmp / "c.db")
        pending = "select count(*) from inbox where status != 'done'"
        while con.execute(pending).fetchone()[0]:  # noqa: ASYNC110  (polling another process)
            await asyncio.sleep(0.02)
        done = time.perf_counter()
        hz = os.sysconf("SC_CLK_TCK")
        cpu = [
            (cpu_ticks(p) - t) / hz / (done - start) * 100
            for p, t in zip(pids, ticks0, strict=True)
        ]
        total, distinct = con.execute(
            "select count(*), count(distinct user_id) from checkins"
        ).fetchone()
        con.close()
    finally:
        proc.terminate()
        proc.wait(30)
    lat.sort()
    return {
        "n": n,
        "acked_per_s": n / (acked - start),
        "processed_per_s": n / (done - start),
        "p50": lat[len(lat) // 2] * 1000,
        "p99": lat[int(len(lat) * 0.99) - 1] * 1000,
        "lost": n - total,
        "duplicated": total - distinct,
        "cpu": " + ".join(f"{c:.0f}%" for c in cpu),
    }


MEMBERS = 20_000  # part 2: check-in rows are a whole number of days of this many members


async def part2(rows: int, tmp: Path) -> list[tuple[str, float]]:
    from bot.config import parse_config
    from handlers.checkin import leaderboard
    from storage.db import Database

    url = f"sqlite+aiosqlite:///{tmp / 'lb.db'}"
    parse_config({}, FEATURES, environ={})  # registers feature tables and sections
    db = Database(url)
    await db.create_all()
    members = MEMBERS
    days = rows // members
    start = date(2026, 1, 1)
    con = sqlite3.connect(tmp / "lb.db")
    at = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    con.executemany(
        "insert into checkins (group_id,user_id,day,at,points,streak,content,image_url,makeup,"
        "void) values ('g',?,?,?,10,1,'','',0,0)",
        (
            (f"u{m}", (start + timedelta(days=d)).isoformat(), at)
            for d in range(days)
            for m in range(members)
        ),
    )
    con.executemany(
        "insert into checkin_stats (group_id,user_id,total_days,streak,best_streak,last_day,points,"
        "season,season_days,season_points,cards) values ('g',?,?,?,?,?,?,'2026-01',?,?,0)",
        (
            (f"u{m}", r, r % 30, 30, (start + timedelta(days=days - 1)).isoformat(), r * 10, 5, 50)
            for m in range(members)
            for r in [random.randint(1, days)]
        ),
    )
    con.commit()
    con.close()
    out = []
    today = start + timedelta(days=days - 1)
    async with db.read() as s:
        for board in ("today", "streak", "total", "points", "month"):
            await leaderboard(s, "g", board, 10, today)
            t0 = time.perf_counter()
            for _ in range(20):
                await leaderboard(s, "g", board, 10, today)
            out.append((board, (time.perf_counter() - t0) / 20 * 1000))
    await db.dispose()
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=12000)
    p.add_argument("-c", default="64,128", help="concurrent requests (comma-separated)")
    p.add_argument(
        "--rows", type=int, default=1_000_000, help="part 2's check-ins (under 20,000: no part 2)"
    )
    p.add_argument("--mode", default="single,split", help="single and/or split")
    a = p.parse_args()
    before = reference_ms()
    probe = Probe()
    probe.start()
    runs = []
    with tempfile.TemporaryDirectory() as d:
        for mode in a.mode.split(","):
            for c in (int(x) for x in a.c.split(",")):
                runs.append((mode, c, asyncio.run(part1(a.n, c, Path(d), mode == "split"))))
        # (fewer rows than one day of every member: no leaderboard part)
        lb = asyncio.run(part2(a.rows, Path(d))) if a.rows >= MEMBERS else []
    print(machine("SQLite", before, probe.stop()))
    print(
        f"{'/签到 via /onebot':<16}{'c':>4}{'n':>7}{'acked/s':>9}{'done/s':>8}{'p50 ms':>8}"
        f"{'p99 ms':>8}{'lost':>5}{'dup':>4}  cpu (web [+ worker] + client)"
    )
    for mode, c, r in runs:
        print(
            f"{mode:<16}{c:>4}{r['n']:>7}{r['acked_per_s']:>9.0f}{r['processed_per_s']:>8.0f}"
            f"{r['p50']:>8.1f}{r['p99']:>8.1f}{r['lost']:>5}{r['duplicated']:>4}  {r['cpu']}"
        )
    if not lb:
        return
    rows = a.rows // MEMBERS * MEMBERS
    print(f"leaderboard, {rows:,} check-in rows, {MEMBERS:,} members (ms per query, mean of 20):")
    for board, ms in lb:
        print(f"  {board:<8}{ms:>8.2f}")


if __name__ == "__main__":
    main()
