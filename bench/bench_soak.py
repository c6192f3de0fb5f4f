"""Mixed-load soak: does `groupbot serve` hold its memory over time?

    python bench/bench_soak.py [--minutes 30] [--rate 40] [--groups 200] [--db postgresql+asyncpg://…]

Runs one server (SQLite file, or a new PostgreSQL database next to ``--db``) and feeds it a
steady mix at ``--rate`` requests/s: chat messages and `/签到` from a growing population of
members, joins and leaves, broadcasts through the API and API reads. RSS is sampled every
10 s; the figure reported is the slope of a least-squares line through the samples after the
first fifth of the run (warm-up), in MiB per hour, with the RSS at start and end of that span.
At the end every stored event must be processed and nothing may have failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_callbacks import free_port, wait_up
from bench.pgutil import describe_db, drop_url, fresh_url, rows, rss_mib
from bot.adapters.onebot import sign

SECRET = "soak-secret"
TOKEN = "soak-token"


def write_config(tmp: Path, url: str, port: int, groups: int) -> Path:
    body = "".join(
        f'[[groups]]\nid = "{200000 + g}"\nplatform = "console"\nname = "群{g}"\ntags = ["t"]\n'
        for g in range(groups)
    )
    cfg = tmp / "soak.toml"
    cfg.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n[storage]\nurl = "{url}"\n'
        f'[bot]\napi_token = "{TOKEN}"\n[onebot]\nsecret = "{SECRET}"\n'
        f"[welcome]\nwindow_s = 2\nmax_wait_s = 10\n{body}",
        encoding="utf-8",
    )
    return cfg


def slope(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB), in MiB per hour."""
    n = len(samples)
    mx = sum(t for t, _ in samples) / n
    my = sum(m for _, m in samples) / n
    var = sum((t - mx) ** 2 for t, _ in samples)
    cov = sum((t - mx) * (m - my) for t, m in samples)
    return cov / var * 3600 if var else 0.0


class Load:
    """One request of the mix at a time; ``i`` numbers everything so keys never repeat."""

    def __init__(self, base: str, groups: int) -> None:
        self.base = base
        self.groups = groups
        self.rnd = random.Random(11)
        self.i = 0
        self.errors = 0
        self.population = 50

    def _event(self, body: dict[str, object]) -> bytes:
        base = {"time": int(time.time()), "self_id": 1}
        return json.dumps({**base, **body}).encode()

    async def one(self, http: aiohttp.ClientSession) -> None:
        self.i += 1
        i, r = self.i, self.rnd.random()
        g = 200000 + self.rnd.randrange(self.groups)
        if i % 20 == 0:
            self.population += 1  # new people keep arriving
        user = 3_000_000 + self.rnd.randrange(self.population)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        if r < 0.08:
            notice = "group_increase" if r < 0.05 else "group_decrease"
            body = self._event(
                {"post_type": "notice", "notice_type": notice, "group_id": g, "user_id": user,
                 "sub_type": "approve" if r < 0.05 else "leave", "operator_id": i}
            )  # fmt: skip
        elif r < 0.10:
            url = f"{self.base}/api/groups/{g}/messages"
            async with http.post(url, json={"text": f"公告 {i}"}, headers=auth) as resp:
                self.errors += resp.status != 202
            return
        elif r < 0.12:
            url = f"{self.base}/api/groups/{g}/leaderboard?board=checkin&limit=10"
            async with http.get(url, headers=auth) as resp:
                self.errors += resp.status != 200
                await resp.read()
            return
        else:
            text = "/签到" if r < 0.40 else f"今天天气不错 {i}"
            body = self._event(
                {"post_type": "message", "message_type": "group", "message_id": i,
                 "group_id": g, "user_id": user,
                 "message": [{"type": "text", "data": {"text": text}}],
                 "sender": {"nickname": f"成员{user}"}}
            )  # fmt: skip
        h = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
        async with http.post(f"{self.base}/onebot", data=body, headers=h) as resp:
            self.errors += resp.status != 204


async def soak(a: argparse.Namespace, tmp: Path) -> None:
    url = await fresh_url(a.db, tmp, "soak")
    port = free_port()
    cfg = write_config(tmp, url, port, a.groups)
    proc = subprocess.Popen(
        [sys.executable, "-m", "handlers.app", "serve", "-c", str(cfg), "--log-level", "ERROR"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    samples: list[tuple[float, float]] = []
    load = Load(base, a.groups)
    try:
        await wait_up(base)
        start = time.monotonic()
        end = start + a.minutes * 60
        next_sample = start
        async with aiohttp.ClientSession() as http:
            while (now := time.monotonic()) < end:
                if now >= next_sample:
                    samples.append((now - start, rss_mib(proc.pid)))
                    next_sample += 10
                tick = time.monotonic()
                await asyncio.gather(*(load.one(http) for _ in range(max(1, a.rate // 10))))
                await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))
            samples.append((time.monotonic() - start, rss_mib(proc.pid)))
        await asyncio.sleep(5)
        sql = "select status, count(*) from inbox group by status"
        inbox = {status: count for status, count in await rows(url, sql)}
    finally:
        proc.terminate()
        proc.wait(60)
        await drop_url(url)
    steady = [s for s in samples if s[0] >= a.minutes * 60 / 5]
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, {describe_db(url)}")
    print(f"duration {a.minutes:g} min, {load.i:,} requests ({load.i / (a.minutes * 60):.0f}/s),")
    print(f"  {load.population:,} distinct members, {a.groups} groups, errors {load.errors}")
    print(f"inbox by status at the end: {inbox}")
    print(f"RSS start {samples[0][1]:.1f} MiB, after warm-up {steady[0][1]:.1f} MiB, "
          f"end {samples[-1][1]:.1f} MiB, max {max(m for _, m in samples):.1f} MiB")  # fmt: skip
    print(f"RSS slope after warm-up: {slope(steady):+.2f} MiB/hour ({len(steady)} samples)")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--rate", type=int, default=40, help="requests per second")
    p.add_argument("--groups", type=int, default=200)
    p.add_argument("--db", default="", help="PostgreSQL URL (default: a SQLite file)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        asyncio.run(soak(a, Path(d)))


if __name__ == "__main__":
    main()
