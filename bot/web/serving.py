"""``groupbot serve``'s HTTP server: the app on the listening sockets, with a cap on the client
connections held open at once.

Rules:
- At most ``[server] max_connections`` client connections are served at once. ``0`` (the
  default) derives it from the open-files limit: a quarter of the files (at least
  ``HEADROOM``) stay for the database, outgoing calls and logs, plus room for the reserved and
  waiting connections below and for two accept bursts (``backlog_for``). Every connection is a
  file; without a cap, idle clients take every descriptor and then even ``accept()`` fails.
- A connection over the cap is not held: its request line is read (for at most ``PEEK_S``).
  ``GET /healthz`` (or ``HEAD``) is then served on one of ``HEALTH_SLOTS`` reserved slots and
  the connection closes after the answer; anything else is answered ``503`` with
  ``Retry-After`` and closed. At most ``WAITING`` connections wait to be read: a newer one
  pushes out the oldest (answered ``503``), so silent clients cannot crowd out a health check,
  which sends its request at once.
- Reaching the cap is logged once (a warning), and again only after the server was back under
  it; every ``503`` is counted in ``/metrics`` (``groupbot_http_connections_refused_total``).
- SIGINT/SIGTERM: stop accepting, let the requests in flight finish (``shutdown_timeout_s``),
  run the app's cleanup (the bot stops), return.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import socket
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot import heap

log = logging.getLogger("groupbot.http")

HEADROOM = 128  # files kept for everything but client connections, at least
HEALTH_SLOTS = 4  # /healthz over the cap
WAITING = 32  # connections over the cap whose request line is being read
BACKLOG = 128  # the listen queue, and the most connections one accept burst takes (at most)
PEEK_S = 5.0  # how long a connection over the cap may take to send its request line
MAX_LINE = 8190  # a longer request line is not waited for
BUSY_BODY = b'{"error": "too many connections, try again shortly"}'
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"Content-Length: " + str(len(BUSY_BODY)).encode() + b"\r\n\r\n" + BUSY_BODY
)


def open_files_limit() -> int:
    files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return 1 << 20 if files == resource.RLIM_INFINITY or files <= 0 else files


def backlog_for(files: int) -> int:
    """The listen queue: also how many connections asyncio accepts in one go, before any of
    them can be answered and closed — kept small when files are few."""
    return max(16, min(BACKLOG, files // 16))


def default_max_connections(files: int | None = None) -> int:
    """The cap when ``[server] max_connections`` is 0, from the soft open-files limit: a
    quarter (at least ``HEADROOM``) kept for everything else, then the reserved and waiting
    connections, and two accept bursts (the connections pushed out by one burst are closed
    while the next is accepted)."""
    files = open_files_limit() if files is None else files
    kept = max(HEADROOM, files // 4) + HEALTH_SLOTS + WAITING + 2 * backlog_for(files)
    return max(8, files - kept)


def _is_health_check(line: bytes) -> bool:
    parts = line.split()
    if len(parts) != 3 or parts[0] not in (b"GET", b"HEAD"):
        return False
    return parts[1].split(b"?", 1)[0] == b"/healthz"


class ConnectionCap:
    """The listening sockets' protocol factory: aiohttp's connection handler while fewer than
    ``limit`` are open, a gatekeeper for the ones beyond (module rules)."""

    def __init__(self, server: web.Server, limit: int) -> None:
        self.server = server
        self.limit = limit
        self.open = 0
        self.health = 0
        self.waiting: dict[_OverCap, None] = {}  # oldest first
        self.refused = 0
        self.full = False

    def __call__(self) -> asyncio.Protocol:
        if self.open < self.limit:
            self.open += 1
            return _Counted(self, self.server(), health=False)
        if not self.full:
            self.full = True
            log.warning(
                "%d client connections are open, the most [server] max_connections allows: "
                "more get 503 (health checks are still answered)",
                self.limit,
            )
        if len(self.waiting) >= WAITING:
            next(iter(self.waiting)).refuse()  # the oldest silent one makes room
        gate = _OverCap(self)
        self.waiting[gate] = None
        return gate

    def closed(self, health: bool) -> None:
        if health:
            self.health -= 1
            return
        self.open -= 1
        if self.full and self.open < self.limit:
            self.full = False
            log.info("client connections are under the cap again (%d)", self.limit)

    def counts(self) -> dict[str, float]:
        return {"http_connections_refused": self.refused}


class _Counted(asyncio.Protocol):
    """aiohttp's handler for one connection, counted until the connection is lost."""

    def __init__(self, cap: ConnectionCap, handler: Any, health: bool) -> None:
        self.cap, self.handler, self.health = cap, handler, health

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.handler.data_received(data)

    def eof_received(self) -> bool | None:
        result: bool | None = self.handler.eof_received()
        return result

    def pause_writing(self) -> None:
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        self.handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.cap.closed(self.health)
        self.handler.connection_lost(exc)


class _OverCap(asyncio.Protocol):
    """A connection over the cap: its request line decides (module rules)."""

    def __init__(self, cap: ConnectionCap) -> None:
        self.cap = cap
        self.seen = bytearray()
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self not in self.cap.waiting:  # pushed out before it was even made
            self._answer_busy()
            return
        self.timer = asyncio.get_running_loop().call_later(PEEK_S, self._silent)

    def data_received(self, data: bytes) -> None:
        if self not in self.cap.waiting:
            return
        self.seen += data
        line, newline, _rest = bytes(self.seen).partition(b"\n")
        if not newline and len(self.seen) <= MAX_LINE:
            return
        if newline and _is_health_check(line) and self.cap.health < HEALTH_SLOTS:
            self._serve_health_check()
        else:
            self.refuse()

    def eof_received(self) -> bool:
        return False  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        self._leave()

    def refuse(self) -> None:
        """Answer 503 and close (now, or as soon as the connection is made)."""
        self._leave()
        if self.transport is not None:
            self._answer_busy()

    def _answer_busy(self) -> None:
        assert self.transport is not None
        self.cap.refused += 1
        self.transport.write(BUSY)
        self.transport.close()

    def _silent(self) -> None:
        self._leave()
        if self.transport is not None:
            self.transport.close()

    def _leave(self) -> None:
        self.cap.waiting.pop(self, None)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _serve_health_check(self) -> None:
        self._leave()
        assert self.transport is not None
        self.cap.health += 1
        counted = _Counted(self.cap, self.cap.server(), health=True)
        self.transport.set_protocol(counted)
        counted.connection_made(self.transport)
        counted.data_received(bytes(self.seen))
        counted.handler.close()  # answer this request, then close: the slot is free again


async def serve(
    app: web.Application,
    socks: list[socket.socket],
    *,
    max_connections: int,
    shutdown_timeout: float,
    announce: Callable[[str], None],
    watch: Callable[[Callable[[], dict[str, float]]], None] | None = None,
) -> None:
    """Serve ``app`` on ``socks`` until SIGINT or SIGTERM, then shut down gracefully."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=shutdown_timeout
    )
    await runner.setup()  # (the bot starts here)
    heap.settle()
    servers: list[asyncio.AbstractServer] = []
    try:
        assert runner.server is not None
        files = open_files_limit()
        cap = ConnectionCap(runner.server, max_connections or default_max_connections(files))
        if watch is not None:
            watch(cap.counts)
        for sock in socks:
            backlog = backlog_for(files)
            servers.append(await loop.create_server(cap, sock=sock, backlog=backlog))
        names = ", ".join(f"http://{s.getsockname()[0]}:{s.getsockname()[1]}" for s in socks)
        announce(f"======== Running on {names} (at most {cap.limit} connections) ========")
        await stop.wait()
    finally:
        for server in servers:
            server.close()
        await runner.cleanup()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
