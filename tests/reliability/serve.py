"""Helpers for reliability tests that drive a real ``groupbot serve`` subprocess.

Everything listens on 127.0.0.1; the process writes its stdout/stderr to files so tests can
inspect them (and scan them for secrets). ``ServeProcess.close`` always ends the process.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bot.adapters.onebot import sign

ROOT = Path(__file__).resolve().parents[2]
SERVE = (sys.executable, "-m", "handlers.app", "serve")
EPOCH = 1763431200  # 2025-11-18 02:00 UTC: a fixed, plausible OneBot "time"


def write_config(tmp: Path, port: int, body: str) -> Path:
    """A TOML config: server on ``port``, SQLite in ``tmp``, plus ``body`` (more sections)."""
    cfg = tmp / "bot.toml"
    cfg.write_text(
        f"""
[server]
host = "127.0.0.1"
port = {port}
shutdown_timeout_s = 10
[storage]
url = "sqlite+aiosqlite:///{tmp / "bot.db"}"
{body}
""",
        encoding="utf-8",
    )
    return cfg


class ServeProcess:
    """``python -m handlers.app serve`` with output captured to ``out``/``err`` files."""

    def __init__(self, cfg: Path, tmp: Path, port: int, log_level: str = "INFO") -> None:
        self.cfg = cfg
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_level = log_level
        self.tmp = tmp
        self.runs = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, **env: str) -> None:
        self.runs += 1
        out = open(self.tmp / f"serve-{self.runs}.out", "wb")
        err = open(self.tmp / f"serve-{self.runs}.err", "wb")
        try:
            self.proc = subprocess.Popen(
                [*SERVE, "-c", str(self.cfg), "--log-level", self.log_level],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=out,
                stderr=err,
            )
        finally:
            out.close()
            err.close()

    def output(self) -> bytes:
        """Everything every run wrote to stdout and stderr, plus any ``*.log`` file."""
        files = sorted(self.tmp.glob("serve-*.*")) + sorted(self.tmp.rglob("*.log"))
        return b"".join(p.read_bytes() for p in files)

    async def wait_healthy(self, http: aiohttp.ClientSession, within_s: float = 30) -> None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early: {self.output()[-2000:]!r}")
            try:
                async with http.get(f"{self.base}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError("server did not become healthy")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    async def wait_exit(self, within_s: float) -> int:
        """The exit code, waiting up to ``within_s`` seconds without blocking the loop."""
        assert self.proc is not None
        deadline = time.monotonic() + within_s
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"server still running after {within_s}s")
            await asyncio.sleep(0.05)
        return int(self.proc.returncode)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def group_message(gid: int, uid: int, mid: int, text: str, role: str = "member") -> bytes:
    """A OneBot v11 ``message.group`` event with array segments."""
    return json.dumps(
        {
            "time": EPOCH + mid,
            "self_id": 1,
            "post_type": "message",
            "message_type": "group",
            "sub_type": "normal",
            "message_id": mid,
            "group_id": gid,
            "user_id": uid,
            "message": [{"type": "text", "data": {"text": text}}],
            "sender": {"user_id": uid, "nickname": f"m{uid}", "role": role},
        },
        ensure_ascii=False,
    ).encode()


def join_notice(gid: int, uid: int, seq: int, inviter: int = 0) -> bytes:
    """A OneBot ``group_increase`` notice (``invite`` when an inviter is given)."""
    return json.dumps(
        {
            "time": EPOCH + seq,
            "self_id": 1,
            "post_type": "notice",
            "notice_type": "group_increase",
            "sub_type": "invite" if inviter else "approve",
            "group_id": gid,
            "operator_id": inviter or uid,
            "user_id": uid,
        }
    ).encode()


async def post_onebot(
    http: aiohttp.ClientSession, base: str, secret: str, body: bytes, within_s: float = 10
) -> int | None:
    """The HTTP status, or None when no answer came (connection refused/reset/timeout)."""
    headers = {"Content-Type": "application/json", "X-Signature": sign(secret, body)}
    try:
        async with http.post(
            f"{base}/onebot",
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=within_s),
        ) as r:
            await r.read()
            return r.status
    except (aiohttp.ClientError, TimeoutError):
        return None


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on the SQLite file (a short-lived connection of its own)."""
    con = sqlite3.connect(db, timeout=10)
    try:
        return list(con.execute(sql, args).fetchall())
    finally:
        con.close()


def outbox_texts(db: Path, status: str = "sent") -> Counter[str]:
    """How often each text sits in the outbox with ``status`` (what the bot believes it sent)."""
    rows = query(db, "select payload from outbox where status = ?", status)
    return Counter(json.loads(p).get("text", "") for (p,) in rows)


async def wait_for(check: Any, within_s: float, what: str, interval: float = 0.1) -> None:
    """Poll ``check()`` (sync) until it is true, failing after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)
