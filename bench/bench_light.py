"""CPU per event at everyday load: a steady trickle through the real server.

    python bench/bench_light.py [--rates 20,100] [--mix chat,mixed] [--seconds 30]

For each mix and rate: `groupbot serve` (one process, a fresh SQLite file) on 127.0.0.1, a
short warm-up, then a steady ``rate`` signed OneBot group messages per second for
``--seconds``, from 2,000 members over three groups — ``chat`` is plain chat only, ``mixed``
makes every third message a ``/签到``. The figure is the server process's CPU (user + system,
from /proc, every thread) from the first request until every event is processed and every
reply delivered, divided by the events sent: at a low rate it includes what the process spends
while waiting between events, which is the point. Also printed: the CPU the idle server uses
per second before the load, the ack latency, and how long an event waited from being stored to
being processed (its handlers' effects and replies committed: ``[bot] dispatch_linger_ms``, set
with ``--linger``, bounds what the dispatcher adds). It then checks 0 lost and 0 duplicated.
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
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_callbacks import free_port, wait_up
from bench.bench_checkin import children, cpu_ticks
from bench.hostref import Probe, machine, reference_ms
from bot.adapters.onebot import sign

SECRET = "bench-secret"
GROUPS = (10001, 10002, 10003)
MEMBERS = 2000
CHAT = ("今天天气不错", "大家早上好", "有人一起跑步吗", "这个活动几点开始？", "收到，谢谢")


def config(tmp: Path, port: int) -> Path:
    cfg = tmp / "light.toml"
    groups = "".join(f'[[groups]]\nid = "{g}"\nplatform = "console"\n' for g in GROUPS)
    cfg.write_text(
        f'[server]\nport = {port}\n[storage]\nurl = "sqlite+aiosqlite:///{tmp / "light.db"}"\n'
        f'[onebot]\nsecret = "{SECRET}"\n{groups}',
        encoding="utf-8",
    )
    return cfg


def body(i: int, checkin: bool, rnd: random.Random) -> bytes:
    member = rnd.randrange(MEMBERS)
    text = "/签到" if checkin else f"{rnd.choice(CHAT)} {i}"
    return json.dumps(
        {
            "time": int(time.time()),
            "self_id": 1,
            "post_type": "message",
            "message_type": "group",
            "message_id": i,
            "group_id": GROUPS[member % len(GROUPS)],
            "user_id": 100000 + member,
            "message": [{"type": "text", "data": {"text": text}}],
            "sender": {"nickname": f"会员{member}", "role": "member"},
        },
        ensure_ascii=False,
    ).encode()


def server_ticks(pid: int) -> int:
    return sum(cpu_ticks(p) for p in [pid, *children(pid)])


def processing_ms(db: Path, since: str) -> list[float]:
    """Stored → processed, per event received at or after ``since`` (the server's clock)."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "select (julianday(processed_at) - julianday(received_at)) * 86400000 from inbox"
            " where platform = 'onebot' and received_at >= ? and processed_at is not null",
            (since,),
        ).fetchall()
    finally:
        con.close()
    return sorted(float(r[0]) for r in rows)


def unfinished(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        inbox = con.execute("select count(*) from inbox where status = 'queued'").fetchone()[0]
        outbox = con.execute("select count(*) from outbox where status = 'queued'").fetchone()[0]
    finally:
        con.close()
    return int(inbox + outbox)


async def send(
    http: aiohttp.ClientSession, url: str, payloads: list[bytes], rate: float
) -> list[float]:
    """Each payload at its own moment (``start + i / rate``), each in a task of its own so a
    slow answer never delays the next send; returns the ack latencies."""
    lat: list[float] = []

    async def one(b: bytes) -> None:
        h = {"Content-Type": "application/json", "X-Signature": sign(SECRET, b)}
        t0 = time.perf_counter()
        async with http.post(url, data=b, headers=h) as r:
            assert r.status == 204, r.status
        lat.append(time.perf_counter() - t0)

    tasks = []
    start = time.perf_counter()
    for i, b in enumerate(payloads):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(b)))
    await asyncio.gather(*tasks)
    return sorted(lat)


async def run(
    mix: str, rate: float, seconds: float, tmp: Path, profile: str = "", linger: int | None = None
) -> dict[str, float]:
    for f in list(tmp.glob("light.db*")):  # noqa: ASYNC240  (set-up, before anything runs)
        f.unlink()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    prof = ["-m", "cProfile", "-o", profile] if profile else []
    cmd = ["-m", "handlers.app", "serve", "-c", str(config(tmp, port)), "--log-level", "ERROR"]
    env = dict(os.environ)
    if linger is not None:
        env["GROUPBOT_BOT__DISPATCH_LINGER_MS"] = str(linger)
    proc = subprocess.Popen(
        [sys.executable, *prof, *cmd],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rnd = random.Random(7)
    every = 3 if mix == "mixed" else 0
    n = int(rate * seconds)
    payloads = [body(i, every > 0 and i % every == 0, rnd) for i in range(n + 60)]
    warm, load = payloads[:60], payloads[60:]
    db = tmp / "light.db"
    hz = os.sysconf("SC_CLK_TCK")
    try:
        await wait_up(base)
        async with aiohttp.ClientSession() as http:
            await send(http, f"{base}/onebot", warm, 30)  # imports, caches, first rows
            for _ in range(600):  # (polling another process)
                if not unfinished(db):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(2)
            t0, c0 = time.perf_counter(), server_ticks(proc.pid)
            await asyncio.sleep(5)
            idle = (server_ticks(proc.pid) - c0) / hz / (time.perf_counter() - t0)
            t0, c0 = time.perf_counter(), server_ticks(proc.pid)
            since = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
            lat = await send(http, f"{base}/onebot", load, rate)
        for _ in range(6000):  # (polling another process)
            if not unfinished(db):
                break
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
        cpu = (server_ticks(proc.pid) - c0) / hz
        waited = processing_ms(db, since)
        con = sqlite3.connect(db)
        mine = "from inbox where platform = 'onebot'"
        done = con.execute(f"select count(*) {mine} and status = 'done'").fetchone()[0]
        total = con.execute(f"select count(*), count(distinct dedup_key) {mine}").fetchone()
        con.close()
    finally:
        proc.terminate()
        proc.wait(30)
    sent = len(payloads)
    return {
        **figures(n, elapsed, cpu, idle, lat),
        "wait50": waited[len(waited) // 2],
        "wait99": waited[int(len(waited) * 0.99) - 1],
        "lost": sent - done,
        "dup": total[0] - total[1],
    }


def figures(n: int, elapsed: float, cpu: float, idle: float, lat: list[float]) -> dict[str, float]:
    """What every everyday-load run reports: CPU per event (ms), its share of a core, the idle
    CPU (ms a second) and the median and p99 of ``lat`` (sorted seconds) in ms."""
    return {
        "n": n,
        "elapsed": elapsed,
        "ms_per_event": cpu / n * 1000,
        "cpu_pct": cpu / elapsed * 100,
        "idle_ms_per_s": idle * 1000,
        "p50": lat[len(lat) // 2] * 1000,
        "p99": lat[max(int(len(lat) * 0.99) - 1, 0)] * 1000,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rates", default="20,100", help="events per second (comma-separated)")
    p.add_argument("--mix", default="chat,mixed", help="chat and/or mixed")
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--profile", default="", help="run the server under cProfile, stats to FILE")
    p.add_argument("--linger", type=int, default=None, help="[bot] dispatch_linger_ms")
    a = p.parse_args()
    print(machine("SQLite, one process"))
    probe = Probe()
    probe.start()
    print(
        f"{'mix':<7}{'rate/s':>7}{'events':>7}{'secs':>6}{'cpu ms/ev':>10}{'cpu %':>7}"
        f"{'idle ms/s':>10}{'p50 ms':>8}{'p99 ms':>8}{'wait p50':>9}{'p99':>6}{'lost':>5}{'dup':>4}"
    )
    with tempfile.TemporaryDirectory() as d:
        for mix in a.mix.split(","):
            for rate in (float(x) for x in a.rates.split(",")):
                r = asyncio.run(run(mix, rate, a.seconds, Path(d), a.profile, a.linger))
                print(
                    f"{mix:<7}{rate:>7.0f}{r['n']:>7.0f}{r['elapsed']:>6.1f}"
                    f"{r['ms_per_event']:>10.2f}{r['cpu_pct']:>6.1f}%{r['idle_ms_per_s']:>10.1f}"
                    f"{r['p50']:>8.1f}{r['p99']:>8.1f}{r['wait50']:>9.0f}{r['wait99']:>6.0f}"
                    f"{r['lost']:>5.0f}{r['dup']:>4.0f}",
                    flush=True,
                )
    during = probe.stop()
    print(f"host reference after the runs: {reference_ms():.1f} ms, during: {during}")


if __name__ == "__main__":
    main()
