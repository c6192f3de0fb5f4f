"""Callback throughput: the full durable path vs a bare verify+decrypt+parse server.

    python bench/bench_callbacks.py [-n 5000] [-c 50] [--rate 1000] [--rounds 3]
    python bench/bench_callbacks.py --db postgresql+asyncpg://groupbot@127.0.0.1:55433/groupbot \
        --instances 1,2


Both servers run in their own process on 127.0.0.1 (the load generator gets the other core).
For each: N distinct signed and encrypted WeCom callbacks at concurrency C (events/s, p50/p99
ack latency, errors), then a paced run at ``--rate`` events/s (p50/p99). The full server is
the real groupbot app on a fresh SQLite file with its workers running; after the run, the
benchmark checks that every event was stored exactly once. The two servers run alternately,
``--rounds`` times each; the ratio printed last is the median of the rounds' ratios (on a shared
machine one back-to-back pair can differ by a third either way).

With ``--db`` (a PostgreSQL URL) each run gets a new database in that cluster; ``--instances
1,2`` runs the full server as 1 and then 2 processes on that one database, the load generator
spreading requests over them round-robin (a load balancer), and also reports how fast the
instances together processed the burst (stored → done).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.hostref import Probe, machine, reference_ms
from bench.pgutil import describe_db, drop_url, fresh_url, rows
from bot.adapters import wecom, wecom_sign

TOKEN = "benchtoken"
AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP = "wwbench"
KEYS = wecom.WeComKeys(TOKEN, AES, CORP)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_bare(port: int) -> None:
    """Verify, decrypt and parse; answer 200. Nothing else."""
    from aiohttp import web

    from bot.adapters.base import AdapterError, Request

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            wecom.parse_callback(KEYS, Request(dict(request.query), {}, body), time.time(), 300)
        except AdapterError as exc:
            return web.Response(status=exc.status)
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/wecom/callback", handle)
    app.router.add_get("/healthz", lambda _r: _ok())
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def _ok() -> object:
    from aiohttp import web

    return web.json_response({"status": "ok"})


def write_config(tmp: Path, port: int, url: str = "") -> Path:
    cfg = tmp / "bench.toml"
    cfg.write_text(
        f"""
[server]
port = {port}
[storage]
url = "{url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"}"
[wecom]
corp_id = "{CORP}"
token = "{TOKEN}"
encoding_aes_key = "{AES}"
""",
        encoding="utf-8",
    )
    return cfg


def requests(n: int, offset: int) -> list[tuple[dict[str, str], bytes]]:
    now = int(time.time())
    out = []
    for i in range(n):
        xml = wecom_sign.text_xml(
            to_user=CORP,
            from_user=f"user{i % 500}",
            content=f"你好 {i}",
            msg_id=offset + i,
            create_time=now,
        )
        out.append(wecom_sign.sign_post_xml(KEYS, xml, now, f"n{offset + i}"))
    return out


async def fire(
    base: str | list[str], reqs: list[tuple[dict[str, str], bytes]], conc: int, rate: float | None
) -> dict[str, float]:
    """Send ``reqs`` (round-robin over the servers in ``base``) and time the answers."""
    bases = [base] if isinstance(base, str) else base
    lat: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(reqs)):
        queue.put_nowait(i)
    start = time.perf_counter()

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal errors
        while not queue.empty():
            i = queue.get_nowait()
            if rate:
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            query, body = reqs[i]
            t0 = time.perf_counter()
            try:
                url = f"{bases[i % len(bases)]}/wecom/callback"
                async with http.post(url, params=query, data=body) as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            lat.append(time.perf_counter() - t0)

    conn = aiohttp.TCPConnector(limit=conc)
    async with aiohttp.ClientSession(connector=conn) as http:
        await asyncio.gather(*(worker(http) for _ in range(conc)))
    elapsed = time.perf_counter() - start
    lat.sort()
    return {
        "n": len(reqs),
        "eps": len(reqs) / elapsed,
        "p50": lat[len(lat) // 2] * 1000,
        "p99": lat[int(len(lat) * 0.99) - 1] * 1000,
        "errors": errors,
    }


async def wait_up(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(f"{base}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


async def drained(url: str, since: float, limit_s: float = 600) -> float:
    """Seconds from ``since`` until no stored event is left unprocessed."""
    sql = "select count(*) from inbox where status = 'queued' and platform != 'internal'"
    while time.perf_counter() - since < limit_s:
        if (await rows(url, sql))[0][0] == 0:
            return time.perf_counter() - since
        await asyncio.sleep(0.05)
    raise RuntimeError("events were not processed in time")


async def run(
    kind: str, n: int, conc: int, rate: float, tmp: Path, db: str | None = None, instances: int = 1
) -> list[dict[str, float]]:
    url = "" if kind == "bare" else await fresh_url(db, tmp, f"{kind}{instances}")
    ports = [free_port() for _ in range(instances)]
    env = dict(os.environ)
    if kind == "ingest":
        env["GROUPBOT_SERVER__WORKERS"] = "false"
    procs = []
    for port in ports:
        if kind == "bare":
            cmd = [sys.executable, __file__, "--serve-bare", str(port)]
        else:
            cfg = write_config(tmp, ports[0], url)
            cmd = [
                sys.executable,
                "-m",
                "handlers.app",
                "serve",
                "-c",
                str(cfg),
                "--port",
                str(port),
            ]
            cmd += ["--log-level", "ERROR"]
        procs.append(
            subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        if kind != "bare":
            await wait_up(f"http://127.0.0.1:{port}")  # the first one migrates the schema
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base in bases:
            await wait_up(base)
        await fire(bases, requests(200, 10_000_000), conc, None)  # warm-up
        started = time.perf_counter()
        burst = await fire(bases, requests(n, 0), conc, None)
        if kind == "full":
            burst["processed_eps"] = n / await drained(url, started)
        paced = await fire(bases, requests(min(n, int(rate * 5)), 20_000_000), conc, rate)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    if kind != "bare":
        sql = "select count(*), count(distinct dedup_key) from inbox where platform = 'wecom'"
        stored = (await rows(url, sql))[0]
        await drop_url(url)
        expected = 200 + n + min(n, int(rate * 5))
        burst["stored"] = stored[0]
        assert stored == (expected, expected), f"stored {stored}, expected {expected}"
    return [burst, paced]


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-bare":
        serve_bare(int(sys.argv[2]))
        return
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=5000)
    p.add_argument("-c", type=int, default=50)
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument(
        "--ingest-only", action="store_true", help="durable path without processing workers"
    )
    p.add_argument("--db", default="", help="PostgreSQL URL (a new database per run)")
    p.add_argument("--instances", default="1", help="server processes per run, e.g. 1,2")
    p.add_argument(
        "--rounds", type=int, default=3, help="bare and full alternately, this many times each"
    )
    a = p.parse_args()
    counts = [int(x) for x in a.instances.split(",")]
    kind = "ingest" if a.ingest_only else "full"
    where = describe_db(a.db or "sqlite")
    print(machine(where))
    probe = Probe()
    probe.start()
    print(
        f"{'server':<26}{'events':>8}{'ev/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'processed/s':>13}"
    )
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        for r in range(a.rounds):
            # alternated: a shared machine's speed drifts, so each ratio compares neighbours
            bare = asyncio.run(run("bare", a.n, a.c, a.rate, Path(d)))
            fulls = [asyncio.run(run(kind, a.n, a.c, a.rate, Path(d), a.db, k)) for k in counts]
            print(f"round {r + 1}")
            report(a, counts, bare, fulls)
            ratios.append(fulls[0][0]["eps"] / bare[0]["eps"])
    shown = ", ".join(f"{x:.2f}" for x in ratios)
    print(f"ratio full/bare (burst ev/s): median {statistics.median(ratios):.2f} ({shown})")
    during = probe.stop()
    print(f"host reference after the runs: {reference_ms():.1f} ms, during: {during}")


def report(
    a: argparse.Namespace,
    counts: list[int],
    bare: list[dict[str, float]],
    fulls: list[list[dict[str, float]]],
) -> None:
    runs = [("bare parse", bare)]
    runs += [
        (f"full x{k}" if len(counts) > 1 or k > 1 else "full durable", f)
        for k, f in zip(counts, fulls, strict=True)
    ]
    for name, (burst, paced) in runs:
        done = f"{burst['processed_eps']:>13.0f}" if "processed_eps" in burst else f"{'':>13}"
        print(
            f"{name + ' burst c=' + str(a.c):<26}{burst['n']:>8}{burst['eps']:>10.0f}"
            f"{burst['p50']:>9.2f}{burst['p99']:>9.2f}{burst['errors']:>8}{done}"
        )
        print(
            f"{name + f' @{a.rate:.0f}/s':<26}{paced['n']:>8}{paced['eps']:>10.0f}"
            f"{paced['p50']:>9.2f}{paced['p99']:>9.2f}{paced['errors']:>8}"
        )
    for k, f in zip(counts[1:], fulls[1:], strict=True):
        line = f"x{k} vs x{counts[0]}: ack {f[0]['eps'] / fulls[0][0]['eps']:.2f}x"
        if "processed_eps" in f[0]:
            line += f", processed {f[0]['processed_eps'] / fulls[0][0]['processed_eps']:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
