"""``[server] max_connections``: a real ``groupbot serve`` with every connection taken by idle
keep-alive clients still answers /healthz at once, answers a webhook with a quick 503 (not a
hang), logs the cap once, and serves webhooks again when the idle clients leave.

Rules checked (bot/web/serving.py): connections over the cap have their request line read;
``GET /healthz`` is served on a reserved slot, anything else is 503 with ``Retry-After`` and
closed; a connection that sends nothing is closed after ``PEEK_S``; the default cap leaves a
quarter of the open-files limit (at least ``HEADROOM``) for everything else, plus room for the
reserved and waiting connections and one accept burst.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest

from bot.adapters.onebot import sign
from bot.web.serving import (
    BACKLOG,
    HEADROOM,
    HEALTH_SLOTS,
    PEEK_S,
    WAITING,
    backlog_for,
    default_max_connections,
)
from tests.fakes.server import free_port
from tests.reliability.serve import ServeProcess, group_message, write_config

CAP = 12
SECRET = "cap-secret"


async def request(port: int, raw: bytes, within_s: float = 3.0) -> tuple[int, bytes, float]:
    """(status, whole answer, seconds) of one request on a new connection; the server closes
    or the answer is complete within ``within_s`` (a hang fails the test)."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), within_s)
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        body = await asyncio.wait_for(reader.readexactly(length), within_s)
        return int(head.split()[1]), head + body, time.monotonic() - started
    finally:
        writer.close()


def webhook(mid: int) -> bytes:
    body = group_message(10001, 500 + mid, mid, "hello")
    return (
        b"POST /onebot HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
        + f"X-Signature: {sign(SECRET, body)}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


HEALTH = b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n"


async def idle_client(port: int) -> asyncio.StreamWriter:
    """A keep-alive client that asked for /healthz once and now sits idle."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEALTH)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert b" 200 " in head.split(b"\r\n")[0], head
    return writer


def test_the_default_cap_leaves_room_for_everything_else() -> None:
    def others(burst: int) -> int:
        return HEALTH_SLOTS + WAITING + 2 * burst  # reserved, waiting, two accept bursts

    assert backlog_for(4096) == BACKLOG and backlog_for(256) == 16
    assert default_max_connections(4096) == 4096 - 1024 - others(128)  # a quarter kept
    assert default_max_connections(1024) == 1024 - 256 - others(64)
    assert default_max_connections(256) == 256 - HEADROOM - others(16)  # at least HEADROOM
    assert default_max_connections(100) == 8  # a tiny limit still serves a few


@pytest.mark.slow
async def test_at_the_cap_health_checks_pass_and_webhooks_get_503(tmp_path: Path) -> None:
    port = free_port()
    body = (
        f'[onebot]\nsecret = "{SECRET}"\n[[groups]]\nid = "10001"\nplatform = "onebot"\n'
        f'[bot]\napi_token = "t"\n'
    )
    cfg = write_config(tmp_path, port, body)
    text = cfg.read_text(encoding="utf-8").replace(
        "shutdown_timeout_s = 10", f"shutdown_timeout_s = 10\nmax_connections = {CAP}"
    )
    cfg.write_text(text, encoding="utf-8")
    server = ServeProcess(cfg, tmp_path, port)
    server.start()
    idle: list[asyncio.StreamWriter] = []
    try:
        async with aiohttp.ClientSession() as http:
            await server.wait_healthy(http)
        status, _, _ = await request(port, webhook(1))
        assert status == 204  # under the cap: served
        idle = [await idle_client(port) for _ in range(CAP)]

        status, answer, took = await request(port, HEALTH)
        assert status == 200 and b'"status": "ok"' in answer.replace(b'":"', b'": "'), answer
        assert took < 2.0
        for i in range(40):  # many refusals, one log line
            status, answer, took = await request(port, webhook(100 + i))
            assert status == 503 and took < 2.0, (status, answer)
        assert b"Retry-After: 1" in answer and b"too many connections" in answer
        # a connection over the cap that says nothing is not kept
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), PEEK_S + 5) == b""
        writer.close()

        for w in idle:  # the idle clients leave: webhooks are served again
            w.close()
        deadline = time.monotonic() + 10
        while (status := (await request(port, webhook(2)))[0]) != 204:
            assert time.monotonic() < deadline, status
            await asyncio.sleep(0.1)
        metrics = (await request(port, b"GET /metrics HTTP/1.1\r\nHost: bot\r\n\r\n"))[1]
        refused = [
            line
            for line in metrics.decode().splitlines()
            if line.startswith("groupbot_http_connections_refused_total ")
        ]
        assert refused and float(refused[0].split()[1]) >= 41, refused
    finally:
        for w in idle:
            w.close()
        server.terminate()
        await server.wait_exit(20)
    records = [json.loads(x) for x in server.output().splitlines() if x.startswith(b"{")]
    capped = [r for r in records if "max_connections" in r["msg"]]
    assert len(capped) == 1, capped
    assert len(records) < 60, [r["msg"] for r in records]
