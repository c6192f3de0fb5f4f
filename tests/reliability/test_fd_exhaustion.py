"""Running out of file descriptors must not flood the log, and the default connection cap keeps
the server from running out at all.

Rules checked (bot/logs.py ``RepeatLimit``, ``raise_open_files_limit``; bot/web/serving.py):
- ``serve`` raises its soft limit of open files to the hard limit when it starts.
- With the hard limit at 256 and the default ``[server] max_connections`` (derived from the
  limit), 400 idle connections leave descriptors to spare: ``accept()`` never fails and
  /healthz answers 200 while they are open.
- With a cap set above what the descriptors allow, ``accept()`` fails again and again; the log
  keeps at most ``REPEAT_BURST`` records of that kind per ``REPEAT_WINDOW_S`` (before: thousands
  of records, megabytes, within seconds). When the connections close, the server answers
  /healthz again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.logs import REPEAT_BURST, REPEAT_WINDOW_S, RepeatLimit
from tests.fakes.server import free_port
from tests.reliability.serve import ROOT, write_config

LAUNCH = (
    "import os, resource, sys;"
    "resource.setrlimit(resource.RLIMIT_NOFILE, (256, int(sys.argv[1])));"
    "os.execv(sys.executable, [sys.executable, '-m', 'handlers.app', 'serve', '-c', sys.argv[2]])"
)


def test_repeats_are_limited_per_kind_and_counted() -> None:
    now = [0.0]
    limit = RepeatLimit(burst=20, window_s=10, clock=lambda: now[0])

    def rec(msg: str, name: str = "asyncio") -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, None, None)

    passed = [r for r in (rec(f"accept failed\nfd={i}") for i in range(1000)) if limit.filter(r)]
    assert len(passed) == 20
    assert limit.filter(rec("another kind"))  # other kinds are not held back
    now[0] = 10.5
    nxt = rec("accept failed\nfd=x")
    assert limit.filter(nxt) and nxt.suppressed == 980  # type: ignore[attr-defined]


@contextlib.contextmanager
def serve(
    tmp_path: Path, hard: int, server: str = ""
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = free_port()
    cfg = write_config(tmp_path, port, '[[groups]]\nid = "demo"\n')
    if server:  # more [server] keys
        text = cfg.read_text(encoding="utf-8")
        cfg.write_text(text.replace("[server]\n", f"[server]\n{server}\n", 1), encoding="utf-8")
    err = tmp_path / "serve.err"
    with open(err, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, str(hard), str(cfg)], cwd=ROOT, stdout=out, stderr=out
        )
    try:
        yield proc, f"http://127.0.0.1:{port}", err
    finally:
        proc.kill()
        proc.wait(10)


async def healthy(base: str, within_s: float = 30) -> bool:
    deadline = time.monotonic() + within_s
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(f"{base}/healthz", timeout=aiohttp.ClientTimeout(2)) as r:
                    if r.status == 200:
                        return True
            await asyncio.sleep(0.2)
    return False


def soft_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open-files line")


@pytest.mark.slow
async def test_soft_limit_is_raised_to_the_hard_limit(tmp_path: Path) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard <= 256:
        pytest.skip("needs a finite hard limit above 256")
    with serve(tmp_path, hard) as (proc, base, err):
        assert await healthy(base)
        assert soft_limit(proc.pid) == hard
        assert b"open files limit raised from 256" in err.read_bytes()


def open_idle(port: int, n: int) -> list[socket.socket]:
    """Up to ``n`` connections that send nothing (patient on a busy machine: stops only after
    the listen backlog refused three times)."""
    socks: list[socket.socket] = []
    refused = 0
    while len(socks) < n and refused < 3:
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:
            refused += 1  # the listen backlog is full too
    return socks


@pytest.mark.slow
async def test_the_default_cap_leaves_descriptors_to_spare(tmp_path: Path) -> None:
    with serve(tmp_path, 256) as (_proc, base, err):
        assert await healthy(base)
        before = len(err.read_bytes().splitlines())
        socks = open_idle(int(base.rsplit(":", 1)[1]), 400)
        try:
            assert len(socks) > 300
            started = time.monotonic()
            assert await healthy(base, within_s=2)  # answered while they are all open
            assert time.monotonic() - started < 2
        finally:
            for s in socks:
                s.close()
        lines = err.read_bytes().splitlines()[before:]
        records = [json.loads(x) for x in lines if x.startswith(b"{")]
        assert not [r for r in records if "accept" in r["msg"]]
        assert len(records) < 10, [r["msg"] for r in records]


@pytest.mark.slow
async def test_descriptor_exhaustion_does_not_flood_the_log(tmp_path: Path) -> None:
    # a cap above what the descriptors allow: accept() runs out
    with serve(tmp_path, 256, "max_connections = 100000") as (_proc, base, err):
        assert await healthy(base)
        before = len(err.read_bytes().splitlines())
        port = int(base.rsplit(":", 1)[1])
        socks: list[socket.socket] = []
        started = time.monotonic()
        try:
            # patient on a busy machine: give up only after the backlog refused three times
            refused = 0
            while len(socks) < 400 and refused < 3:
                try:
                    socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
                except OSError:
                    refused += 1  # the listen backlog is full too
            await asyncio.sleep(5)
        finally:
            windows = 1 + int((time.monotonic() - started) // REPEAT_WINDOW_S) + 1
            for s in socks:
                s.close()
        lines = err.read_bytes().splitlines()[before:]
        records = [json.loads(x) for x in lines if x.startswith(b"{")]
        accept = [r for r in records if "accept" in r["msg"]]
        # accept() failures are the proof that the descriptors ran out
        assert 0 < len(accept) <= REPEAT_BURST * windows, (len(socks), len(accept), windows)
        assert len(b"".join(lines)) < 200_000
        assert await healthy(base)  # the idle connections are gone: served again
