"""``groupbot serve`` that cannot start: a port in use and an unreachable PostgreSQL are each one
line naming the config key (the password never shown), a non-zero exit, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.server import free_port

pytestmark = pytest.mark.slow
PASSWORD = "hunter2-sekret"


def _config(tmp: Path, port: int, url: str) -> Path:
    cfg = tmp / "bot.toml"
    cfg.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n[storage]\nurl = "{url}"\n'
        '[[groups]]\nid = "demo"\nplatform = "console"\n',
        encoding="utf-8",
    )
    return cfg


def _serve(cfg: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "handlers.app", "serve", "-c", str(cfg), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_a_port_in_use_is_one_line_naming_server_port(tmp_path: Path) -> None:
    port = free_port()
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        done = _serve(_config(tmp_path, port, url))
        assert done.returncode != 0
        assert (
            _one_line(done.stderr) == f"groupbot: [server] port {port} is in use (host 127.0.0.1)"
        )
        # given on the command line, the key is the option
        done = _serve(_config(tmp_path, 8080, url), "--port", str(port))
        assert done.returncode != 0
        assert _one_line(done.stderr) == f"groupbot: --port {port} is in use (host 127.0.0.1)"
    # nothing ran: the bot did not start (no migration, no database file)
    assert not (tmp_path / "bot.db").exists()


def test_an_unreachable_postgresql_is_one_line_without_the_password(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there: connection refused
    url = f"postgresql+asyncpg://gb:{PASSWORD}@127.0.0.1:{closed}/gbdb?password={PASSWORD}"
    done = _serve(_config(tmp_path, free_port(), url))
    assert done.returncode != 0
    line = _one_line(done.stderr)
    assert line == (
        f"groupbot: [storage] url: cannot connect to "
        f"postgresql+asyncpg://gb:***@127.0.0.1:{closed}/gbdb: connection refused"
    )
    assert PASSWORD not in done.stdout + done.stderr


def test_a_database_that_hangs_up_is_one_line_with_the_reason(tmp_path: Path) -> None:
    with socket.socket() as rude:  # accepts, then closes: not a PostgreSQL server
        rude.bind(("127.0.0.1", 0))
        rude.listen()
        port = rude.getsockname()[1]
        url = f"postgresql+asyncpg://gb:{PASSWORD}@127.0.0.1:{port}/gbdb"
        cfg = _config(tmp_path, free_port(), url)
        proc = subprocess.Popen(
            [sys.executable, "-m", "handlers.app", "serve", "-c", str(cfg)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        rude.settimeout(60)
        conn, _ = rude.accept()
        conn.close()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    line = _one_line(err)
    shown = f"postgresql+asyncpg://gb:***@127.0.0.1:{port}/gbdb"
    assert line.startswith(f"groupbot: [storage] url: cannot connect to {shown}: "), line
    assert PASSWORD not in out + err
