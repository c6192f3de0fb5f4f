"""Processing scale-out on PostgreSQL: 1 vs N `groupbot serve` instances on one database.

    python bench/bench_scaleout.py --db postgresql+asyncpg://groupbot@127.0.0.1:55433/groupbot \\
        [-n 20000] [--groups 200] [--instances 1,2]

For each instance count: a new database, the servers started and healthy, then N `/签到`
messages from distinct members (spread over ``--groups`` console groups) stored in the inbox in
one transaction — as if acknowledged by any instance — and timed until every one is processed
and every reply delivered. Afterwards it checks that there are exactly N check-ins, N inbox rows
done and N replies sent (0 lost, 0 duplicated).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_callbacks import free_port, wait_up
from bench.pgutil import drop_url, fresh_url, rows


def write_config(tmp: Path, url: str, groups: int) -> Path:
    cfg = tmp / "scale.toml"
    body = "".join(f'[[groups]]\nid = "g{i}"\nplatform = "console"\n' for i in range(groups))
    cfg.write_text(
        f'[server]\nhost = "127.0.0.1"\n[storage]\nurl = "{url}"\n'
        f"[rules.flood]\nenabled = false\n{body}",
        encoding="utf-8",
    )
    return cfg


async def store(url: str, n: int, groups: int) -> None:
    """N check-in messages in the inbox, committed together."""
    from bot.clock import SystemClock
    from bot.events import MessageReceived
    from bot.inbox import Inbox, inbox_row
    from storage.db import Database

    now = datetime.now(UTC)
    events = [
        MessageReceived(
            dedup_key=f"bench:{uuid.uuid4().hex}",
            platform="console",
            group_id=f"g{i % groups}",
            occurred_at=now,
            user_id=f"u{i}",
            user_name=f"会员{i}",
            text="/签到",
            message_id=str(i),
        )
        for i in range(n)
    ]
    db = Database(url)
    try:
        rows = [inbox_row(e, now) for e in events]
        await Inbox(db, SystemClock())._write(rows)  # one transaction, like a group commit
    finally:
        await db.dispose()


async def drained(url: str, n: int, since: float) -> float:
    sql = (
        "select (select count(*) from inbox where status = 'done' and platform = 'console'),"
        " (select count(*) from outbox where status = 'sent')"
    )
    while time.perf_counter() - since < 900:
        done, sent = (await rows(url, sql))[0]
        if done >= n and sent >= n:
            return time.perf_counter() - since
        await asyncio.sleep(0.1)
    raise RuntimeError("not processed in time")


async def run(db: str, n: int, groups: int, instances: int, tmp: Path) -> float:
    url = await fresh_url(db, tmp, f"scale{instances}")
    cfg = write_config(tmp, url, groups)
    procs = []
    try:
        for _ in range(instances):
            port = free_port()
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
            procs.append(
                subprocess.Popen(
                    [*cmd, "--log-level", "ERROR"],
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            await wait_up(f"http://127.0.0.1:{port}")
        await store(url, n, groups)
        took = await drained(url, n, time.perf_counter())
        checks = (await rows(url, "select count(*), count(distinct user_id) from checkins"))[0]
        sent = (await rows(url, "select count(*) from outbox where status = 'sent'"))[0][0]
        assert checks == (n, n) and sent == n, (checks, sent)
        return n / took
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        await drop_url(url)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True, help="PostgreSQL URL (a new database per run)")
    p.add_argument("-n", type=int, default=20000)
    p.add_argument("--groups", type=int, default=200)
    p.add_argument("--instances", default="1,2")
    a = p.parse_args()
    counts = [int(x) for x in a.instances.split(",")]
    with tempfile.TemporaryDirectory() as d:
        results = [asyncio.run(run(a.db, a.n, a.groups, k, Path(d))) for k in counts]
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, PostgreSQL")
    print(f"{'instances':>10}{'check-ins':>11}{'processed/s':>13}{'vs first':>10}")
    for k, eps in zip(counts, results, strict=True):
        print(f"{k:>10}{a.n:>11}{eps:>13.0f}{eps / results[0]:>9.2f}x")


if __name__ == "__main__":
    main()
