"""A tiny base for local fake servers: aiohttp on 127.0.0.1, a free port, clean stop."""

from __future__ import annotations

import socket
from typing import Any, Self

from aiohttp import web


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for servers started as subprocesses)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeServer:
    def __init__(self) -> None:
        self.app = web.Application()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await self._listen()
        return self.url

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await self._site.start()
        if not self.port:
            self.port = int(self._runner.addresses[0][1])

    async def refuse(self) -> None:
        """Stop listening: connections are refused until ``accept``."""
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def accept(self) -> None:
        if self._site is None:
            await self._listen()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()
