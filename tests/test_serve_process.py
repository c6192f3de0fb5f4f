"""The real `groupbot serve` process: acknowledged events survive SIGKILL; SIGTERM is graceful."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bot.adapters.onebot import sign
from tests import pgdb
from tests.fakes.server import free_port

SECRET = "proc-secret"


def write_config(tmp: Path, port: int, url: str = "") -> Path:
    cfg = tmp / "bot.toml"
    cfg.write_text(
        f"""
[server]
host = "127.0.0.1"
port = {port}
shutdown_timeout_s = 5
[storage]
url = "{url or pgdb.database_url(tmp, "bot.db")}"
[bot]
api_token = "tok"
[onebot]
secret = "{SECRET}"
[[groups]]
id = "10001"
platform = "console"
name = "进程测试群"
""",
        encoding="utf-8",
    )
    return cfg


def start(cfg: Path, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "handlers.app", "serve", "-c", str(cfg), "--log-level", "WARNING"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_healthy(
    http: aiohttp.ClientSession, base: str, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited early"
        try:
            async with http.get(f"{base}/healthz") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await _sleep(0.1)
    raise AssertionError("server did not become healthy")


async def _sleep(s: float) -> None:
    import asyncio

    await asyncio.sleep(s)


def message(i: int) -> bytes:
    return json.dumps(
        {
            "time": 1763431200 + i,
            "self_id": 1,
            "post_type": "message",
            "message_type": "group",
            "message_id": i,
            "group_id": 10001,
            "user_id": 1000 + i,
            "message": [{"type": "text", "data": {"text": "/帮助"}}],
            "sender": {"nickname": f"m{i}"},
        }
    ).encode()


async def counts(url: str) -> tuple[dict[str, int], dict[str, int]]:
    """Inbox and outbox rows by status (on SQLite or PostgreSQL)."""
    inbox = await pgdb.scalar_rows(
        url, "select status, count(*) from inbox where platform != 'internal' group by status"
    )
    outbox = await pgdb.scalar_rows(url, "select status, count(*) from outbox group by status")
    return dict(inbox), dict(outbox)


async def post_messages(http: aiohttp.ClientSession, base: str, n: int) -> None:
    """Post ``n`` signed OneBot messages; each must be acknowledged with 204."""
    for i in range(n):
        body = message(i)
        headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
        async with http.post(f"{base}/onebot", data=body, headers=headers) as r:
            assert r.status == 204


@pytest.mark.slow
async def test_sigkill_after_ack_loses_nothing_and_sigterm_is_graceful(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = pgdb.database_url(tmp_path, "bot.db")
    cfg = write_config(tmp_path, port, url)
    n = 40
    async with aiohttp.ClientSession() as http:
        # an ingest-only instance: it stores and acknowledges, processes nothing
        proc = start(cfg, GROUPBOT_SERVER__WORKERS="false")
        try:
            await wait_healthy(http, base, proc)
            await post_messages(http, base, n)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        inbox, outbox = await counts(url)
        assert inbox == {"queued": n} and outbox == {}

        proc = start(cfg)
        try:
            await wait_healthy(http, base, proc)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                inbox, outbox = await counts(url)
                if inbox == {"done": n} and outbox == {"sent": n}:
                    break
                await _sleep(0.2)
            assert inbox == {"done": n} and outbox == {"sent": n}
            # a redelivery after the restart changes nothing
            body = message(0)
            headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
            async with http.post(f"{base}/onebot", data=body, headers=headers) as r:
                assert r.status == 204
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0
        assert await counts(url) == ({"done": n}, {"sent": n})


@pytest.mark.slow
async def test_an_ingest_only_instance_processes_nothing_on_sigterm(tmp_path: Path) -> None:
    """An instance with ``server.workers = false`` stores and acknowledges only: a graceful stop
    does not start processing or sending either (the processing instances own that work, and a
    second sender of the same rows is how duplicates happen)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = pgdb.database_url(tmp_path, "bot.db")
    cfg = write_config(tmp_path, port, url)
    n = 5
    async with aiohttp.ClientSession() as http:
        proc = start(cfg, GROUPBOT_SERVER__WORKERS="false")
        try:
            await wait_healthy(http, base, proc)
            await post_messages(http, base, n)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0
    assert await counts(url) == ({"queued": n}, {})
