"""Three `groupbot serve` processes on one PostgreSQL database behind a "load balancer" that
delivers every event to all of them: each effect happens once, each message is sent once, one
instance leads the scheduler, and when the leader is SIGKILLed another takes over in time
without posting a programme occurrence twice.

Runs only with ``GROUPBOT_TEST_DB=postgresql+asyncpg://…`` (CI sets it for its second run).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.adapters.onebot import sign
from tests import pgdb
from tests.fakes.onebot_bridge import FakeOneBot
from tests.fakes.server import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(pgdb.pg_url() is None, reason="needs GROUPBOT_TEST_DB (PostgreSQL)"),
]
SECRET = "multi-secret"
GROUPS = (20001, 20002)
FIRST, SECOND = range(1, 31), range(31, 51)  # member numbers of the two waves
FAILOVER_DEADLINE_S = 30


def write_config(tmp: Path, url: str, bridge: str) -> Path:
    """Two OneBot groups and a programme slot at the current minute (due at the first tick)."""
    minute = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
    groups = "".join(
        f'[[groups]]\nid = "{g}"\nplatform = "onebot"\nname = "多实例{g}"\n' for g in GROUPS
    )
    cfg = tmp / "multi.toml"
    cfg.write_text(
        f"""
[server]
host = "127.0.0.1"
shutdown_timeout_s = 5
[storage]
url = "{url}"
[onebot]
secret = "{SECRET}"
api_url = "{bridge}"
[welcome]
window_s = 1
max_wait_s = 3
raid_joins = 1000
[rules.flood]
enabled = false
[[programme.slots]]
id = "hourly"
days = ["daily"]
time = "{minute}"
theme = "整点"
content = "{{theme}}播报 {{group}}"
targets = ["all"]
{groups}""",
        encoding="utf-8",
    )
    return cfg


def event(kind: str, group: int, member: int, seq: int) -> bytes:
    """A signed-to-be OneBot body: a join notice or a `/签到` message."""
    base = {"time": int(time.time()), "self_id": 1, "group_id": group, "user_id": 10_000 + member}
    if kind == "join":
        body = {**base, "post_type": "notice", "notice_type": "group_increase"}
        body |= {"sub_type": "approve", "operator_id": 0}
    else:
        body = {**base, "post_type": "message", "message_type": "group", "message_id": seq}
        body |= {"message": [{"type": "text", "data": {"text": "/签到"}}]}
        body["sender"] = {"nickname": f"m{member}"}
    return json.dumps(body).encode()


class Cluster:
    """The serve processes (one port each) and the load balancer that fans events out."""

    def __init__(self, cfg: Path, tmp: Path, n: int) -> None:
        self.cfg = cfg
        self.tmp = tmp
        self.ports = [0] * n
        self.procs: list[subprocess.Popen[bytes]] = []
        for i in range(n):
            self.procs.append(self._spawn(i))
        self.alive = set(range(n))

    def _spawn(self, i: int) -> subprocess.Popen[bytes]:
        self.ports[i] = port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "handlers.app",
            "serve",
            "-c",
            str(self.cfg),
            "--port",
            str(port),
        ]
        with open(self.tmp / f"serve-{i}.log", "ab") as log:
            return subprocess.Popen(
                [*cmd, "--log-level", "WARNING"], stdout=log, stderr=subprocess.STDOUT
            )

    async def up(self, http: aiohttp.ClientSession, i: int) -> bool:
        """Healthy yet? (An instance that lost its port to another process is started again.)"""
        if self.procs[i].poll() is not None:
            log = (self.tmp / f"serve-{i}.log").read_text(encoding="utf-8", errors="replace")
            assert "address already in use" in log, f"instance {i} exited early"
            self.procs[i] = self._spawn(i)
        return await self.health(http, i) is not None

    def base(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    async def health(self, http: aiohttp.ClientSession, i: int) -> dict[str, object] | None:
        try:
            async with http.get(f"{self.base(i)}/healthz") as r:
                return dict(await r.json()) if r.status == 200 else None
        except (aiohttp.ClientError, ValueError):
            return None

    async def leaders(self, http: aiohttp.ClientSession) -> list[int]:
        found = [(i, await self.health(http, i)) for i in sorted(self.alive)]
        return [i for i, h in found if h is not None and h.get("leader") is True]

    async def fire(self, http: aiohttp.ClientSession, bodies: list[bytes]) -> None:
        """Every event to every instance at once; each live instance must acknowledge it."""

        async def post(i: int, body: bytes) -> None:
            headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
            try:
                async with http.post(f"{self.base(i)}/onebot", data=body, headers=headers) as r:
                    assert r.status == 204 or i not in self.alive, r.status
            except aiohttp.ClientError:
                assert i not in self.alive

        for body in bodies:
            await asyncio.gather(*(post(i, body) for i in range(len(self.ports))))

    def kill(self, i: int) -> None:
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait(10)
        self.alive.discard(i)

    def stop(self) -> list[int | None]:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes: list[int | None] = []
        for p in self.procs:
            try:
                codes.append(p.wait(20))
            except subprocess.TimeoutExpired:
                p.kill()
                codes.append(None)
        return codes


async def until(what: str, check: Callable[[], Awaitable[bool]], deadline_s: float = 60) -> float:
    """Poll ``check`` (an async callable) until true; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if await check():
            return time.monotonic() - start
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_three_instances_share_one_database(tmp_path: Path) -> None:
    url = pgdb.database_url(tmp_path, "multi")
    day = _shanghai_day()
    bridge = FakeOneBot()
    await bridge.start()
    cluster = Cluster(write_config(tmp_path, url, bridge.url), tmp_path, 3)
    q = pgdb.scalar_rows

    async def quiet() -> bool:
        busy = await q(
            url,
            "SELECT (SELECT count(*) FROM inbox WHERE status = 'queued')"
            " + (SELECT count(*) FROM outbox WHERE status = 'queued')"
            " + (SELECT count(*) FROM welcome_pending WHERE NOT done)",
        )
        return busy[0][0] == 0

    try:
        async with aiohttp.ClientSession() as http:
            for i in range(3):
                await until(f"instance {i}", lambda i=i: cluster.up(http, i), 30)
            await until("one leader", lambda: _one_leader(cluster, http), 30)
            seq = iter(range(1, 1_000_000))
            wave1 = [
                event(k, g, m, next(seq)) for m in FIRST for g in GROUPS for k in ("join", "in")
            ]
            await cluster.fire(http, wave1)
            posted = lambda: _programme_posts(bridge) == len(GROUPS)  # noqa: E731
            await until("the programme post", lambda: _true(posted()), 60)
            await until("wave 1 done", quiet)

            (leader,) = await cluster.leaders(http)
            cluster.kill(leader)
            wave2 = [
                event(k, g, m, next(seq)) for m in SECOND for g in GROUPS for k in ("join", "in")
            ]
            again = [event("in", g, m, next(seq)) for m in FIRST[:10] for g in GROUPS]
            await cluster.fire(http, wave2 + again + wave1[:20])  # wave1[:20]: redeliveries
            took = await until(
                "a new leader", lambda: _one_leader(cluster, http), FAILOVER_DEADLINE_S
            )
            print(f"failover: a new leader after {took:.1f} s")
            holder = await q(url, "SELECT holder FROM leases WHERE name = 'scheduler'")
            (new_leader,) = await cluster.leaders(http)
            await until("wave 2 done", quiet)
            await asyncio.sleep(2)  # a duplicate, if any, would show up meanwhile
            assert await quiet()
    finally:
        codes = cluster.stop()
        await bridge.stop()

    assert [c for i, c in enumerate(codes) if i != leader] == [0, 0]
    members = len(FIRST) + len(SECOND)
    # every event stored once, whichever instances it reached
    distinct = len(set(wave1 + wave2 + again))
    assert (await q(url, "SELECT count(*) FROM inbox WHERE platform = 'onebot'"))[0][0] == distinct
    # one check-in per member and day, however many instances the message reached
    per_group = dict(await q(url, "SELECT group_id, count(*) FROM checkins GROUP BY group_id"))
    same_day = _shanghai_day() == day  # (a run across midnight checks in twice, rightly)
    assert per_group == {str(g): members for g in GROUPS} or not same_day
    # each outbound message went out exactly once, and every row was sent
    outbox = dict(await q(url, "SELECT status, count(*) FROM outbox GROUP BY status"))
    assert set(outbox) == {"sent"}
    # replies due together share one message: compare line by line, each exactly once
    rows = await q(url, "SELECT payload::text FROM outbox")
    want = Counter(ln for (p,) in rows for ln in json.loads(p)["text"].split("\n"))
    got = Counter(
        ln for _, p in bridge.calls for ln in p["message"][-1]["data"]["text"].split("\n")
    )
    assert got == want
    for g in GROUPS:
        texts = [ln for t in bridge.sent_texts(g) for ln in t.split("\n")]
        ranks = sorted(int(t.split("今天第 ")[1].split(" 位")[0]) for t in texts if "签到成功" in t)
        if same_day:
            assert ranks == list(range(1, members + 1))
            assert sum("已经签到过" in t for t in texts) == len(FIRST[:10])
        greeted = Counter(w for t in texts if "欢迎" in t for w in t.split() if w.startswith("@"))
        assert greeted == Counter({f"@{10_000 + m}": 1 for m in [*FIRST, *SECOND]})
    # the programme: one post per group across the handover, and one ledger row each
    assert _programme_posts(bridge) == len(GROUPS)
    ledger = await q(url, "SELECT count(*) FROM programme_occurrences")
    assert ledger[0][0] == len(GROUPS)
    # the lease passed to a survivor within the deadline (and the row names it)
    assert took < FAILOVER_DEADLINE_S
    assert f":{cluster.procs[new_leader].pid}:" in holder[0][0]


def _shanghai_day() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _programme_posts(bridge: FakeOneBot) -> int:
    return sum("整点播报" in t for t in bridge.sent_texts())


async def _true(value: bool) -> bool:
    return value


async def _one_leader(cluster: Cluster, http: aiohttp.ClientSession) -> bool:
    return len(await cluster.leaders(http)) == 1
