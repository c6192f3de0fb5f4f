"""The write lock of a SQLite database: one writer at a time, without SQLite's busy waits.

SQLite lets one connection write at a time; a writer that finds the file locked sleeps in
SQLite's busy handler (up to 100 ms a try) and can starve behind a writer that commits often.
So writers queue here instead: in the process on an asyncio lock, and — when several
processes write the same file (``[server] split_worker``) — on an ``flock`` of a lock file
beside the database, taken in a thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from types import TracebackType


class WriteLock:
    def __init__(self, lock_file: str | None = None) -> None:
        self.local = asyncio.Lock()
        self._fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600) if lock_file else None

    async def acquire(self) -> None:
        await self.local.acquire()
        if self._fd is not None:
            try:
                try:  # free most of the time: take it without a thread
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    await asyncio.to_thread(fcntl.flock, self._fd, fcntl.LOCK_EX)
            except BaseException:
                self.local.release()
                raise

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.local.release()

    def acquire_file(self) -> None:
        """The lock file only, blocking (for a thread that already holds ``local``)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def try_file(self) -> bool:
        """Take the lock file if it is free, without waiting (True also without a file)."""
        if self._fd is None:
            return True
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release_file(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
