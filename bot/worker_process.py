"""``[server] split_worker``: the web process accepts, its worker process handles.

One Python process runs on one CPU core. With ``split_worker`` the web process (``groupbot
serve``) only accepts, stores and serves; a second process (``groupbot work``, started and
watched by the web process) runs the dispatcher, the outbox and the scheduler. They share
nothing but the database.

Rules:
- The web process starts its worker after the schema is up to date, and nudges it through the
  worker's stdin — ``i`` when events were stored, ``o`` when outbox rows were queued, ``h``
  when a request waits for an event's outcome (the dispatcher stops lingering), at most one
  byte of each per loop turn. The worker also looks by itself every second.
- The worker stops when its stdin closes (its web process is gone) or on SIGTERM: it processes
  what was stored and delivers what is due, within ``shutdown_timeout_s``.
- A worker that dies is started again after 1 s (doubling up to 30 s while it keeps dying);
  meanwhile /healthz reports ``worker_process: false`` and events wait safely in the inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import stat
import sys
from collections.abc import Callable

from sqlalchemy import select

from bot import heap
from bot.config import Config
from bot.leader import wall_now
from bot.runtime import Bot
from storage.db import Database
from storage.models import Lease

log = logging.getLogger("groupbot.worker")
MAX_BACKOFF_S = 30.0


class WorkerProcess:
    """The web process's handle on its worker process."""

    def __init__(
        self, entry: str, config_path: str, log_level: str, shutdown_timeout_s: float
    ) -> None:
        # ``entry``: the composition root's module, run as ``python -m entry work``
        self.argv = [sys.executable, "-m", entry, "work", "-c", config_path]
        self.argv += ["--log-level", log_level]
        self.shutdown_timeout_s = shutdown_timeout_s
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._pending: set[bytes] = set()
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def leads(self, db: Database) -> bool:
        """True when the worker process holds the scheduler lease (runs the periodic jobs)."""
        if not self.alive or self.proc is None:
            return False
        async with db.read() as s:
            row = (
                await s.execute(
                    select(Lease.holder, Lease.expires_at).where(Lease.name == "scheduler")
                )
            ).first()
        if row is None or row.expires_at < wall_now():
            return False
        return bool(row.holder.split(":")[1:2] == [str(self.proc.pid)])

    async def start(self) -> None:
        await self._spawn()
        self._watch = asyncio.create_task(self._watchdog(), name="worker-watchdog")

    async def _spawn(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(*self.argv, stdin=asyncio.subprocess.PIPE)
        self.starts += 1
        log.info("worker process %s started", self.proc.pid)

    async def _watchdog(self) -> None:
        backoff = 1.0
        while not self._stopping:
            assert self.proc is not None
            code = await self.proc.wait()
            if self._stopping:
                return
            log.error("worker process exited (%s); starting another in %.0f s", code, backoff)
            await asyncio.sleep(backoff)
            backoff = min(MAX_BACKOFF_S, backoff * 2)
            if not self._stopping:
                await self._spawn()

    def nudge(self, kind: bytes) -> None:
        """Tell the worker there is work (coalesced: one byte per kind per loop turn)."""
        if kind in self._pending:
            return
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._send)
        self._pending.add(kind)

    def _send(self) -> None:
        data, self._pending = b"".join(sorted(self._pending)), set()
        proc = self.proc
        if proc is None or proc.stdin is None or proc.returncode is not None:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            proc.stdin.write(data)

    async def stop(self) -> None:
        """SIGTERM, then wait for the worker to finish its work (kill it past the bound)."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout=self.shutdown_timeout_s + 5)
        except TimeoutError:
            log.error("worker process did not stop in time; killing it")
            proc.kill()
            await proc.wait()


async def run_worker(config: Config, console: Callable[[str], None]) -> None:
    """The worker process: process and deliver until SIGTERM or until stdin closes."""
    bot = Bot(config, console_sink=console, migrate=False, keep_console=False)
    await bot.start()
    heap.settle()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def listen() -> None:
        if not stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode):
            return  # not started by `serve` (no pipe to it): look by itself every second
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while data := await reader.read(64):
            if b"i" in data:
                bot.wake_dispatch()
            if b"h" in data:
                bot.hurry()
            if b"o" in data:
                bot.wake_outbox()
        stop.set()  # the web process is gone

    listener = asyncio.create_task(listen())
    await stop.wait()
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
    await bot.stop()
