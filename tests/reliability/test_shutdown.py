"""Graceful shutdown: SIGTERM while events are arriving and replies are queued.

Rules checked (CONTRACT.md "graceful: stop taking requests, finish in-flight work, flush"):
- Every event acknowledged before or during the shutdown is processed before the process
  exits, and its reply is delivered to the bridge (the outbox is flushed), within a bound
  (``shutdown_timeout_s`` = 10 s per step; the test allows 30 s in all).
- The exit code is 0.
- Requests that arrive after the listener closed are refused, not acknowledged (the bridge
  retries them later); nothing acknowledged is left queued.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

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

SECRET = "term-secret"
GROUPS = (40001, 40002)
EVENTS = 160
TERM_AFTER = 100  # acknowledgements before SIGTERM


class SlowBridge(FakeOneBot):
    """A bridge that takes a while per call, so replies pile up in the outbox."""

    async def handle(self, request: web.Request) -> web.Response:
        await asyncio.sleep(0.02)
        return await super().handle(request)


def config_body(bridge_url: str) -> str:
    groups = "".join(
        f'[[groups]]\nid = "{g}"\nplatform = "onebot"\nname = "群{g}"\n' for g in GROUPS
    )
    return f"""
[bot]
api_token = "term-api"
[onebot]
secret = "{SECRET}"
api_url = "{bridge_url}"
{groups}"""


@pytest.mark.slow
async def test_sigterm_processes_acknowledged_events_and_flushes(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    async with SlowBridge() as bridge, aiohttp.ClientSession() as http:
        port = free_port()
        proc = ServeProcess(write_config(tmp_path, port, config_body(bridge.url)), tmp_path, port)
        try:
            proc.start()
            await proc.wait_healthy(http)
            sem = asyncio.Semaphore(8)
            acks = 0

            async def one(i: int) -> int | None:
                nonlocal acks
                body = group_message(GROUPS[i % 2], 500_000 + i, i + 1, "/签到")
                async with sem:
                    status = await post_onebot(http, proc.base, SECRET, body)
                if status == 204:
                    acks += 1
                    if acks == TERM_AFTER:
                        proc.terminate()
                return status

            statuses = await asyncio.gather(*(one(i) for i in range(EVENTS)))
            assert await proc.wait_exit(30) == 0
        finally:
            proc.close()

    assert set(statuses) <= {204, None}
    acked = {500_000 + i for i, s in enumerate(statuses) if s == 204}
    assert len(acked) >= TERM_AFTER
    # everything acknowledged was processed: no queued event, a check-in for each
    inbox = dict(
        query(db, "select status, count(*) from inbox where platform = 'onebot' group by 1")
    )
    assert inbox == {"done": len(acked)}
    members = {int(u) for (u,) in query(db, "select user_id from checkins")}
    assert members == acked
    # and the outbox was flushed to the bridge before exit
    rows = query(db, "select status, payload from outbox where channel = 'onebot'")
    assert rows and {s for s, _ in rows} == {"sent"}
    # replies due together go out merged, one per line
    got = Counter(
        line
        for a, p in bridge.calls
        if a == "send_group_msg"
        for line in p["message"][-1]["data"]["text"].split("\n")
    )
    assert not Counter(json.loads(p)["text"] for _, p in rows) - got
    for uid in acked:
        assert any(t.startswith(f"✅ m{uid} 签到成功") for t in got), uid


async def test_sigterm_when_idle_exits_zero_quickly(tmp_path: Path) -> None:
    """The plain case: nothing in flight, the process is gone well within the bound."""
    async with aiohttp.ClientSession() as http:
        port = free_port()
        proc = ServeProcess(write_config(tmp_path, port, config_body("")), tmp_path, port)
        try:
            proc.start()
            await proc.wait_healthy(http)
            proc.terminate()
            assert await proc.wait_exit(15) == 0
            await wait_for(lambda: proc.proc is not None and proc.proc.poll() == 0, 1, "exit")
        finally:
            proc.close()
