"""``[server] split_worker``: a real ``groupbot serve`` whose worker process handles events.

Rules checked (bot/worker_process.py):
- The web process acknowledges and stores; the worker process processes each event once and
  delivers every reply; /healthz names the worker process.
- SIGTERM: everything acknowledged is processed and delivered before both processes exit 0.
- A worker that dies is started again; what arrived meanwhile waits in the inbox and is
  handled by the new worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from tests.fakes.onebot_bridge import FakeOneBot
from tests.fakes.server import free_port
from tests.reliability.serve import (
    ServeProcess,
    group_message,
    post_onebot,
    query,
    wait_for,
    write_config,
)

SECRET = "split-secret"
GROUPS = (50001, 50002)


def config_body(bridge_url: str) -> str:
    groups = "".join(f'[[groups]]\nid = "{g}"\nplatform = "onebot"\n' for g in GROUPS)
    return f'[onebot]\nsecret = "{SECRET}"\napi_url = "{bridge_url}"\n{groups}'


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


async def send(http: aiohttp.ClientSession, base: str, first: int, n: int) -> None:
    bodies = [
        group_message(GROUPS[i % 2], 700_000 + i, 900_000 + i, "/签到")
        for i in range(first, first + n)
    ]
    codes = await asyncio.gather(*(post_onebot(http, base, SECRET, b) for b in bodies))
    assert codes == [204] * n


def settled(db: Path, n: int) -> bool:
    done = query(db, "select count(*) from inbox where status = 'done'")[0][0]
    queued = query(db, "select count(*) from outbox where status != 'sent'")[0][0]
    return bool(done >= n and queued == 0)


def lines(bridge: FakeOneBot) -> list[str]:
    return [ln for t in bridge.sent_texts() for ln in t.split("\n")]


@asynccontextmanager
async def split_serve(
    tmp_path: Path, **env: str
) -> AsyncIterator[tuple[ServeProcess, FakeOneBot, Path]]:
    """A running ``serve`` with split_worker (more settings in ``env``), its bridge, and its
    database file."""
    bridge = FakeOneBot()
    await bridge.start()
    port = free_port()
    cfg = write_config(tmp_path, port, config_body(bridge.url))
    proc = ServeProcess(cfg, tmp_path, port)
    proc.start(GROUPBOT_SERVER__SPLIT_WORKER="true", **env)
    try:
        yield proc, bridge, tmp_path / "bot.db"
    finally:
        proc.close()
        await bridge.stop()


async def test_split_worker_processes_once_delivers_and_stops_cleanly(tmp_path: Path) -> None:
    async with split_serve(tmp_path) as (proc, bridge, db):
        async with aiohttp.ClientSession() as http:
            await proc.wait_healthy(http)

            async def leader() -> bool:
                async with http.get(f"{proc.base}/healthz") as r:
                    body = await r.json()
                    assert body["checks"]["worker_process"] is True
                    return bool(body["leader"])

            for _ in range(100):  # the worker takes the scheduler lease as it starts
                if await leader():
                    break
                await asyncio.sleep(0.1)
            assert await leader()
            assert proc.proc is not None and len(children(proc.proc.pid)) == 1
            await send(http, proc.base, 0, 80)
            await wait_for(lambda: settled(db, 80), 30, "80 check-ins handled")
            # each member checked in once, each reply delivered once
            rows = query(db, "select group_id, user_id, count(*) from checkins group by 1, 2")
            assert len(rows) == 80 and {n for *_, n in rows} == {1}
            oks = [ln for ln in lines(bridge) if "签到成功" in ln]
            assert len(oks) == len(set(oks)) == 80
            # SIGTERM right after more acknowledgements: all of them handled before exit
            await send(http, proc.base, 80, 40)
            proc.terminate()
            assert await proc.wait_exit(30) == 0
        assert settled(db, 120)
        assert query(db, "select count(*) from checkins")[0][0] == 120
        assert len([ln for ln in lines(bridge) if "签到成功" in ln]) == 120


async def test_a_dead_worker_is_started_again(tmp_path: Path) -> None:
    async with split_serve(tmp_path) as (proc, _bridge, db):
        async with aiohttp.ClientSession() as http:
            await proc.wait_healthy(http)
            assert proc.proc is not None
            (first,) = children(proc.proc.pid)
            os.kill(first, signal.SIGKILL)
            # accepted while no worker runs: stored, handled by the next worker
            await send(http, proc.base, 0, 20)

            def replaced() -> bool:
                assert proc.proc is not None
                return [p for p in children(proc.proc.pid) if p != first] != []

            await wait_for(replaced, 15, "a new worker process")
            await wait_for(lambda: settled(db, 20), 30, "20 check-ins handled")
            async with http.get(f"{proc.base}/healthz") as r:
                assert r.status == 200
            assert query(db, "select count(*) from checkins")[0][0] == 20
            proc.terminate()
            assert await proc.wait_exit(30) == 0
        assert b"worker process exited" in proc.output()
