"""``groupbot chat`` as a terminal program: what the bot says on its own (a greeting flushed by
a job, with nothing more typed) is printed as it happens, and Ctrl-C ends the session at once
and cleanly. Driven as a subprocess through pipes, the way a terminal drives it."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import pgdb

pytestmark = pytest.mark.slow


def _config(tmp_path: Path) -> Path:
    url = pgdb.database_url(tmp_path, "chat.db", empty=True)
    cfg = tmp_path / "chat.toml"
    cfg.write_text(
        f"""
[storage]
url = "{url}"
[welcome]
window_s = 0
max_wait_s = 0
[[groups]]
id = "demo"
platform = "console"
name = "演示群"
admins = ["alice"]
""",
        encoding="utf-8",
    )
    return cfg


def _chat(cfg: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "handlers.app", "chat", "-c", str(cfg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _read_until(proc: subprocess.Popen[bytes], needle: str, within_s: float) -> str:
    """stdout until ``needle`` appears (or the time is up); never sends input."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + within_s
    while needle.encode() not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            seen += chunk
    return seen.decode(errors="replace")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


def test_a_greeting_flushed_by_a_job_is_printed_without_another_line(tmp_path: Path) -> None:
    proc = _chat(_config(tmp_path))
    try:
        assert "groupbot chat" in _read_until(proc, "groupbot chat", 60)
        assert proc.stdin is not None
        proc.stdin.write(b":join bob\n")
        proc.stdin.flush()
        # the greeting is queued by the welcome flush job (every 5 s), not by the join itself;
        # nothing more is typed: it must show up on its own
        out = _read_until(proc, "欢迎", 30)
        assert "欢迎 bob" in out or "欢迎 @bob" in out, out
    finally:
        _stop(proc)


def test_ctrl_c_ends_the_session_promptly_and_cleanly(tmp_path: Path) -> None:
    proc = _chat(_config(tmp_path))
    try:
        assert "groupbot chat" in _read_until(proc, "groupbot chat", 60)
        # stdin stays open with nothing typed: the session is waiting for a line
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=8)
        _out, err = proc.communicate(timeout=5)
        assert code in (0, 130), (code, err.decode(errors="replace"))
        assert b"Traceback" not in err, err.decode(errors="replace")
    finally:
        _stop(proc)
