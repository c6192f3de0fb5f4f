"""Processing scale-out on PostgreSQL: 1 vs N `groupbot serve` instances on one database.

    python bench/bench_scaleout.py --db postgresql+asyncpg://groupbot@127.0.0.1:55433/groupbot \\
        [-n 20000] [--groups 200] [--instances 1,2]

For each instance count: a new database, the servers started and healthy, then N `/签到`
messages from distinct members (spread over ``--groups`` console groups) stored in the inbox in
one transaction — as if acknowledged by any instance — and timed until every one is processed
and every reply delivered. Afterwards it checks that there are exactly N check-ins, N inbox rows
done and N replies sent (0 lost, 0 duplicated).

Besides check-ins/s it prints where the time went, per check-in: the instances' CPU, the
PostgreSQL cluster's CPU (when it runs on this machine: its postmaster and backends, from
/proc) and the transactions committed (``pg_stat_database``). The machine's other work shows in
check-ins/s; CPU per check-in and transactions per check-in hardly move with it.
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
from bench.hostref import Probe, machine, reference_ms
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


def cpu_s(pid: int, children: bool = False) -> float:
    """CPU seconds (user + system) a process used, with its waited-for children's if asked."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11 : 15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def cluster_cpu_s(postmaster: int) -> float:
    """CPU seconds of a PostgreSQL cluster: the postmaster, its exited and its live children."""
    total = cpu_s(postmaster, children=True)
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                total += cpu_s(int(d.name))
    return total


async def postmaster(url: str) -> int | None:
    """The cluster's postmaster pid when it runs on this machine (else None)."""
    sql = "select pid from pg_stat_activity where backend_type = 'checkpointer'"
    found = await rows(url, sql)
    stat = Path(f"/proc/{found[0][0]}/stat") if found else None
    if stat is None or not stat.exists():
        return None
    return int(stat.read_text().rsplit(")", 1)[1].split()[1])


async def commits(url: str) -> int:
    sql = (
        "select xact_commit + xact_rollback from pg_stat_database"
        " where datname = current_database()"
    )
    return int((await rows(url, sql))[0][0])


class Figures:
    def __init__(self, n: int, took: float, cpu: float, pg_cpu: float | None, xacts: int) -> None:
        self.per_s = n / took
        self.cpu_ms = 1000 * cpu / n
        self.pg_ms = None if pg_cpu is None else 1000 * pg_cpu / n
        self.xacts = xacts / n


async def run(db: str, n: int, groups: int, instances: int, tmp: Path) -> Figures:
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
        pm = await postmaster(url)
        x0 = await commits(url)
        cpu0 = sum(cpu_s(p.pid) for p in procs)
        pg0 = cluster_cpu_s(pm) if pm else 0.0
        took = await drained(url, n, time.perf_counter())
        cpu = sum(cpu_s(p.pid) for p in procs) - cpu0
        pg_cpu = cluster_cpu_s(pm) - pg0 if pm else None
        await asyncio.sleep(1.0)  # (statistics reach pg_stat_database within a second)
        xacts = await commits(url) - x0
        checks = (await rows(url, "select count(*), count(distinct user_id) from checkins"))[0]
        sent = (await rows(url, "select count(*) from outbox where status = 'sent'"))[0][0]
        assert checks == (n, n) and sent == n, (checks, sent)
        return Figures(n, took, cpu, pg_cpu, xacts)
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
    before = reference_ms()
    probe = Probe()
    probe.start()
    with tempfile.TemporaryDirectory() as d:
        results = [asyncio.run(run(a.db, a.n, a.groups, k, Path(d))) for k in counts]
    print(machine("PostgreSQL", before, probe.stop()))
    print(
        f"{'instances':>10}{'check-ins':>11}{'processed/s':>13}{'vs first':>10}"
        f"{'instances ms CPU':>18}{'PostgreSQL ms CPU':>19}{'transactions':>14}  (per check-in)"
    )
    for k, f in zip(counts, results, strict=True):
        pg = "?" if f.pg_ms is None else f"{f.pg_ms:.2f}"
        print(
            f"{k:>10}{a.n:>11}{f.per_s:>13.0f}{f.per_s / results[0].per_s:>9.2f}x"
            f"{f.cpu_ms:>18.2f}{pg:>19}{f.xacts:>14.2f}"
        )


if __name__ == "__main__":
    main()
