"""Resident memory of `groupbot serve` with 10,000 groups and 2,000,000 members.

    python bench/bench_memory.py [--groups 10000] [--members 2000000] [--db postgresql+asyncpg://…]

Builds a database (a SQLite file, or a new PostgreSQL database next to ``--db``) holding
``--groups`` group rows and ``--members`` member rows (spread evenly), writes a config listing
every group (name, tags, admins), starts `groupbot serve` on it and reports its resident set
size (VmRSS) when idle, after a burst of traffic across random groups (check-ins and chat
through /onebot, the groups API, member look-ups), and its peak (VmHWM).
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
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_callbacks import free_port, wait_up
from bench.pgutil import describe_db, drop_url, fresh_url, rss_mib
from bot.adapters.onebot import sign

SECRET = "mem-secret"
TOKEN = "mem-token"


async def fill(url: str, groups: int, members: int) -> float:
    """Schema at head, then the group and member rows; returns seconds taken."""
    from sqlalchemy import insert

    from storage.db import Database
    from storage.migrate import upgrade
    from storage.models import Group, Member

    started = time.perf_counter()
    db = Database(url)
    try:
        await upgrade(db)
        now = datetime.now(UTC)
        async with db.connection() as conn:
            await conn.execute(
                insert(Group),
                [
                    dict(id=f"{100000 + g}", platform="onebot", name=f"社群{g}", member_version="",
                         active=True, created_at=now)
                    for g in range(groups)
                ],
            )  # fmt: skip
        per = members // groups
        chunk = 50_000
        batch: list[dict[str, object]] = []
        for i in range(members):
            g = i // per if i // per < groups else groups - 1
            batch.append(
                dict(group_id=f"{100000 + g}", user_id=f"{1_000_000 + i}", name=f"会员{i}",
                     in_group=True, role="", first_seen_at=now, joined_at=now, left_at=None,
                     last_active_at=None, join_count=1, messages=0)
            )  # fmt: skip
            if len(batch) == chunk:
                async with db.connection() as conn:
                    await conn.execute(insert(Member), batch)
                batch = []
        if batch:
            async with db.connection() as conn:
                await conn.execute(insert(Member), batch)
    finally:
        await db.dispose()
    return time.perf_counter() - started


def write_config(tmp: Path, url: str, port: int, groups: int) -> Path:
    lines = [
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n[storage]\nurl = "{url}"\n',
        f'[bot]\napi_token = "{TOKEN}"\n[onebot]\nsecret = "{SECRET}"\n',
        "[rules.flood]\nenabled = false\n",
    ]
    for g in range(groups):
        lines.append(
            f'[[groups]]\nid = "{100000 + g}"\nplatform = "console"\nname = "社群{g}"\n'
            f'tags = ["城市{g % 50}", "{"VIP" if g % 7 == 0 else "普通"}"]\n'
            f'admins = ["{1_000_000 + g * 10}"]\n'
        )
    cfg = tmp / "mem.toml"
    cfg.write_text("".join(lines), encoding="utf-8")
    return cfg


def message(i: int, group: int, member: int, text: str) -> bytes:
    return json.dumps(
        {
            "time": int(time.time()), "self_id": 1, "post_type": "message",
            "message_type": "group", "message_id": i, "group_id": group, "user_id": member,
            "message": [{"type": "text", "data": {"text": text}}],
            "sender": {"nickname": f"会员{member}"},
        }
    ).encode()  # fmt: skip


async def traffic(base: str, groups: int, members: int, n: int) -> None:
    """Check-ins and chat in random groups, plus API reads over all groups."""
    rnd = random.Random(7)
    per = members // groups
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as http:

        async def one(i: int) -> None:
            g = rnd.randrange(groups)
            member = 1_000_000 + g * per + rnd.randrange(per)
            body = message(i, 100000 + g, member, "/签到" if i % 2 else f"大家好 {i}")
            h = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
            async with http.post(f"{base}/onebot", data=body, headers=h) as r:
                assert r.status == 204, r.status
            if i % 100 == 0:
                async with http.get(f"{base}/api/groups/{100000 + g}/members/{member}",
                                    headers=auth) as r:  # fmt: skip
                    await r.read()

        for start in range(0, n, 200):
            await asyncio.gather(*(one(i) for i in range(start, min(n, start + 200))))
        async with http.get(f"{base}/api/groups", headers=auth) as r:
            assert r.status == 200
            assert len((await r.json())["groups"]) == groups


def vm(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


async def main_async(a: argparse.Namespace, tmp: Path) -> None:
    url = await fresh_url(a.db, tmp, "mem")
    try:
        took = await fill(url, a.groups, a.members)
        port = free_port()
        cfg = write_config(tmp, url, port, a.groups)
        proc = subprocess.Popen(
            [sys.executable, "-m", "handlers.app", "serve", "-c", str(cfg), "--log-level", "ERROR"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_up(base)
            await asyncio.sleep(3)
            idle = rss_mib(proc.pid)
            await traffic(base, a.groups, a.members, a.events)
            await asyncio.sleep(5)  # let processing and delivery finish
            busy, peak = rss_mib(proc.pid), vm(proc.pid, "VmHWM")
        finally:
            proc.terminate()
            proc.wait(60)
        size = (tmp / "mem.db").stat().st_size / 2**20 if url.startswith("sqlite") else None
    finally:
        await drop_url(url)
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, {describe_db(url)}")
    print(f"groups {a.groups:,} (config and rows), members {a.members:,} rows; fill {took:.0f} s")
    if size is not None:
        print(f"database file: {size:.0f} MiB")
    print(f"serve RSS idle:                 {idle:8.1f} MiB")
    print(f"serve RSS after {a.events:,} events: {busy:8.1f} MiB")
    print(f"serve peak RSS (VmHWM):         {peak:8.1f} MiB")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--groups", type=int, default=10_000)
    p.add_argument("--members", type=int, default=2_000_000)
    p.add_argument("--events", type=int, default=5_000)
    p.add_argument("--db", default="", help="PostgreSQL URL (default: a SQLite file)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        asyncio.run(main_async(a, Path(d)))


if __name__ == "__main__":
    main()
