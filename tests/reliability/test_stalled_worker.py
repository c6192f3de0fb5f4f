"""/healthz reports a handler that makes no progress, in both modes.

Rules checked (bot/health.py ``events_flowing``, ``[server] stall_after_s``):
- In one process: events stored but not handled for longer than the bound make /healthz 503
  with ``events_flowing: false``; once they are handled it is 200 again.
- With ``split_worker``: a worker process that is alive but stopped (SIGSTOP) while events
  pile up is reported the same way (``worker_process`` alone stays true); after SIGCONT the
  events are handled and /healthz is 200.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient

from bot.adapters.onebot import sign
from bot.web.app import create_app
from tests.harness import Harness
from tests.reliability.serve import group_message, wait_for
from tests.reliability.test_split_worker import children, send, settled, split_serve

SECRET = "stall-secret"


async def test_unhandled_events_past_the_bound_make_healthz_503(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await make_harness(
        {
            "server": {"stall_after_s": 5},
            "onebot": {"secret": SECRET},
            "groups": [{"id": "80001", "platform": "console", "name": "停滞群"}],
        }
    )
    h.bot.workers = True  # this process handles events (the test runs the dispatcher itself)
    client = await aiohttp_client(create_app(h.bot, manage=False))
    body = group_message(80001, 9, 1, "/帮助")
    headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
    assert (await client.post("/onebot", data=body, headers=headers)).status == 204
    assert (await client.get("/healthz")).status == 200  # just stored: within the bound
    h.clock.advance(timedelta(seconds=6))  # nobody handles it
    r = await client.get("/healthz")
    assert r.status == 503
    assert (await r.json())["checks"]["events_flowing"] is False
    await h.bot.drain()
    r = await client.get("/healthz")
    assert r.status == 200 and (await r.json())["checks"]["events_flowing"] is True


async def test_stopped_worker_process_is_reported(tmp_path: Path) -> None:
    async with split_serve(tmp_path, GROUPBOT_SERVER__STALL_AFTER_S="2") as (proc, _b, db):
        async with aiohttp.ClientSession() as http:
            await proc.wait_healthy(http)
            assert proc.proc is not None
            (worker,) = children(proc.proc.pid)
            os.kill(worker, signal.SIGSTOP)
            try:
                await send(http, proc.base, 0, 10)
                await asyncio.sleep(3)
                async with http.get(f"{proc.base}/healthz") as r:
                    checks = (await r.json())["checks"]
                    assert r.status == 503, checks
                    assert checks["worker_process"] is True
                    assert checks["events_flowing"] is False
            finally:
                os.kill(worker, signal.SIGCONT)
            await wait_for(lambda: settled(db, 10), 30, "10 check-ins handled")
            async with http.get(f"{proc.base}/healthz") as r:
                assert r.status == 200
            proc.terminate()
            assert await proc.wait_exit(30) == 0
