"""Shared fixtures. Tests never reach the network: a guard refuses any connection that is not
to the loopback interface."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import pgdb
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness, start_harness

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and not (
        host.startswith("127.") or host in ("::1", "localhost") or self.family == socket.AF_UNIX
    ):
        raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(autouse=True)
def _fresh_databases() -> Iterator[None]:
    """PostgreSQL runs (``GROUPBOT_TEST_DB``): drop the databases this test created."""
    yield
    pgdb.drop_created()


@pytest.fixture(scope="session", autouse=True)
def _pg_template() -> Iterator[None]:
    yield
    pgdb.drop_template()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh database for this test: SQLite file, or PostgreSQL when GROUPBOT_TEST_DB is set."""
    return pgdb.database_url(tmp_path)


@pytest.fixture
async def make_harness(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    """``h = await make_harness({...config overrides...})`` — stopped after the test."""
    started: list[Harness] = []

    async def factory(extra: dict[str, Any] | None = None, **kw: Any) -> Harness:
        h = await start_harness(tmp_path, extra, **kw)
        started.append(h)
        return h

    yield factory
    for h in started:
        await h.bot.stop()


@pytest.fixture
async def harness(make_harness: Callable[..., Awaitable[Harness]]) -> Harness:
    return await make_harness()


@pytest.fixture
async def bridge() -> AsyncIterator[FakeOneBot]:
    """A local OneBot bridge (127.0.0.1) that records the actions the bot sends."""
    async with FakeOneBot(access_token="bridge-token") as b:
        yield b
