"""storage/sqlite_thread.py: a caller that stops waiting does not cut the thread's write short.

Rule checked: when the task waiting for a thread write is cancelled (a request's time bound),
it is released at once; the write goes on to its commit, and the database's write lock stays
held until the write has ended (no other write slips in beside it).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from storage.sqlite_thread import ThreadWriter
from storage.writelock import WriteLock


async def test_a_cancelled_wait_leaves_the_write_and_the_lock_to_the_thread(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "t.db")
    sqlite3.connect(path).execute("CREATE TABLE t (x INTEGER)").connection.close()
    lock = WriteLock()
    writer = ThreadWriter(path, lock)
    started, go_on = threading.Event(), threading.Event()

    def slow(con: sqlite3.Connection) -> int:
        started.set()
        go_on.wait(10)
        con.execute("INSERT INTO t VALUES (1)")
        return 1

    try:
        waiting = asyncio.create_task(writer._run(slow))
        assert await asyncio.to_thread(started.wait, 10)
        waiting.cancel()
        done, _ = await asyncio.wait([waiting], timeout=1)
        assert waiting in done and waiting.cancelled()  # the caller is free at once
        assert lock.local.locked()  # … while the thread still holds the write lock
        go_on.set()
        async with asyncio.timeout(10):
            async with lock.local:  # released once the write has ended
                pass
        rows = sqlite3.connect(path).execute("SELECT x FROM t").fetchall()
        assert rows == [(1,)]  # and the write committed
    finally:
        go_on.set()
        writer.close()
