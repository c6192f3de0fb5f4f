"""Fan-out delivery against a slow bridge: what the in-flight window costs in throughput.

    python bench/bench_fanout.py [--groups 200] [--latency-ms 50,200] [--windows 1,8,32]

For each bridge latency and ``[bot] sends_in_flight`` value: one API broadcast per group
(``--groups`` OneBot groups) is queued through an ingest-only `groupbot serve` (``[server]
workers = false``: it stores, it does not deliver; it is killed, as a graceful stop would
deliver what is queued); then `groupbot serve` (one process, the
same SQLite file) starts and delivers to a local bridge on 127.0.0.1 that answers every send
after the latency. The figure is the time from the bridge's first request until every row is
marked ``sent``: posts per second, and the most requests the bridge saw open at once (the
window: what a crash may send again). ``--windows`` may hold ``default`` (the key left out:
the server's default, or no window on a version without one). Checks that every group got
its post exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_callbacks import free_port, wait_up

TOKEN = "bench-api"


class Bridge:
    """Answers every OneBot action after ``latency_s``; counts posts and open requests."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.posts: Counter[str] = Counter()
        self.first = 0.0
        self.open = 0
        self.most = 0
        self.app = web.Application()
        self.app.router.add_post("/{action}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        self.first = self.first or time.perf_counter()
        self.open += 1
        self.most = max(self.most, self.open)
        try:
            body = await request.json()
            await asyncio.sleep(self.latency_s)
            self.posts[str(body.get("group_id"))] += 1
            return web.json_response({"status": "ok", "retcode": 0, "data": {"message_id": 1}})
        finally:
            self.open -= 1


def config(tmp: Path, port: int, bridge: int, groups: list[str], window: str, work: bool) -> Path:
    listed = "".join(f'[[groups]]\nid = "{g}"\nplatform = "onebot"\n' for g in groups)
    key = "" if window == "default" else f"sends_in_flight = {window}\n"
    cfg = tmp / "f.toml"
    cfg.write_text(
        f"[server]\nport = {port}\nworkers = {'true' if work else 'false'}\n"
        f'[storage]\nurl = "sqlite+aiosqlite:///{tmp / "f.db"}"\n'
        f'[bot]\napi_token = "{TOKEN}"\n{key}'
        f'[onebot]\nsecret = "s"\napi_url = "http://127.0.0.1:{bridge}"\n{listed}',
        encoding="utf-8",
    )
    return cfg


def serve(cfg: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "handlers.app", "serve", "-c", str(cfg), "--log-level", "ERROR"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def queue(base: str, groups: list[str]) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    sem = asyncio.Semaphore(32)
    async with aiohttp.ClientSession() as http:

        async def post(g: str) -> None:
            url = f"{base}/api/groups/{g}/messages"
            async with sem, http.post(url, json={"text": f"通知 {g}"}, headers=auth) as r:
                assert r.status == 202, await r.text()

        await asyncio.gather(*(post(g) for g in groups))


async def run(n: int, latency_s: float, window: str) -> dict[str, float]:
    groups = [str(80_000 + i) for i in range(n)]
    bridge = Bridge(latency_s)
    runner = web.AppRunner(bridge.app, access_log=None)
    await runner.setup()
    bport = free_port()
    await web.TCPSite(runner, "127.0.0.1", bport).start()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for work in (False, True):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            proc = serve(config(tmp, port, bport, groups, window, work))
            try:
                await wait_up(base)
                if not work:
                    await queue(base, groups)  # every 202 is a committed row
                    proc.kill()  # (stopped gracefully, it would deliver them itself)
                    continue
                con = sqlite3.connect(tmp / "f.db")
                left = "select count(*) from outbox where status != 'sent'"
                while con.execute(left).fetchone()[0]:  # noqa: ASYNC110  (another process)
                    await asyncio.sleep(0.01)
                took = time.perf_counter() - bridge.first
                con.close()
            finally:
                proc.terminate()
                proc.wait(30)
    await runner.cleanup()
    assert set(bridge.posts) == set(groups) and set(bridge.posts.values()) == {1}
    return {"per_s": n / took, "secs": took, "most": bridge.most}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--groups", type=int, default=200)
    p.add_argument("--latency-ms", default="50,200", help="bridge answer times (comma-separated)")
    p.add_argument("--windows", default="1,8,32", help="sends_in_flight values, or 'default'")
    a = p.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, SQLite")
    print(f"{'latency ms':>10}{'window':>9}{'groups':>7}{'secs':>7}{'posts/s':>9}{'open':>6}")
    for ms in (float(x) for x in a.latency_ms.split(",")):
        for w in a.windows.split(","):
            r = asyncio.run(run(a.groups, ms / 1000, w))
            print(
                f"{ms:>10.0f}{w:>9}{a.groups:>7}{r['secs']:>7.2f}{r['per_s']:>9.0f}"
                f"{r['most']:>6.0f}"
            )


if __name__ == "__main__":
    main()
