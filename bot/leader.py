"""One scheduler leader among the instances sharing a database (a lease row).

Rules:
- The leader holds the row ``leases(name='scheduler')`` until ``expires_at``; it renews every
  ``RENEW_S`` seconds for another ``TTL_S``. Taking or renewing is one atomic upsert that only
  succeeds when the row is ours or has expired, so two instances can never both hold it.
- Only the leader runs the periodic jobs (bot/jobs.py: the runner is paused, and resumed on
  taking the lease). When the leader dies, another instance takes over once the lease expires:
  within ``TTL_S + RENEW_S`` seconds. A leader that cannot renew in time pauses its jobs
  before the lease could pass to someone else.
- Whatever the jobs cause is idempotent (the programme's occurrences are keyed in a ledger,
  the handlers of the jobs' events change nothing twice), so the short overlap a
  stalled-but-alive ex-leader could cause still posts nothing twice; the lease only keeps
  the work in one place.
- Only instances that run workers take part; one without (ingest-only, ``groupbot chat``,
  tests) is no cluster member and runs its jobs unconditionally, as they are idempotent.
- A graceful stop gives the lease up at once, so a restart or a peer takes over immediately.
- Lease times are wall-clock UTC (process liveness), never the bot's (possibly fake) clock:
  they are compared across processes. How long this process may still trust its last
  renewal (when the database is away) is measured on the monotonic clock from the moment it
  asked: a wall clock stepped back cannot stretch it past the lease the others see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.direct import prepared, run
from storage.models import Lease

log = logging.getLogger("groupbot.leader")
TTL_S = 15.0
RENEW_S = 3.0


_LEASES = Lease.__table__


def _take(mod: Any) -> Any:
    """``INSERT … ON CONFLICT (name) DO UPDATE … WHERE ours or expired RETURNING holder`` in
    the dialect module ``mod``'s INSERT."""
    return prepared(
        mod.insert(_LEASES)
        .values(name=bindparam("name"), holder=bindparam("holder"), expires_at=bindparam("until"))
        .on_conflict_do_update(
            index_elements=["name"],
            set_={"holder": bindparam("holder"), "expires_at": bindparam("until")},
            where=(_LEASES.c.holder == bindparam("holder"))
            | (_LEASES.c.expires_at < bindparam("now")),
        )
        .returning(_LEASES.c.holder)
    )


# built once per dialect: at idle the renewal is most of what the process does, and building
# the statement cost more than running it
_TAKE = {"sqlite": _take(sqlite), "postgresql": _take(postgresql)}


def wall_now() -> datetime:
    return datetime.now(UTC)


def monotonic() -> float:
    return time.monotonic()


class LeaderLease:
    """Takes and keeps the lease ``name``; calls ``on_change(True/False)`` on every change."""

    def __init__(
        self,
        db: Database,
        holder: str,
        on_change: Callable[[bool], None],
        name: str = "scheduler",
        ttl_s: float = TTL_S,
        renew_s: float = RENEW_S,
    ) -> None:
        self.db = db
        self.holder = holder[:128]
        self.on_change = on_change
        self.name = name
        self.ttl = timedelta(seconds=ttl_s)
        self.renew_s = renew_s
        self.is_leader = False
        self._valid_until: float | None = None  # monotonic: our last lease surely holds
        self._task: asyncio.Task[None] | None = None

    async def try_acquire(self) -> bool:
        """Take or renew the lease if it is ours or expired; True when we hold it now."""
        asked = monotonic()
        now = wall_now()
        until = now + self.ttl
        try:
            params = {"name": self.name, "holder": self.holder, "until": until, "now": now}
            async with self.db.connection() as conn:
                got = (await run(conn, _TAKE[self.db.dialect], params)).scalar()
        except Exception as exc:  # the database is away: we cannot prove we still lead
            log.warning("lease %s: renewal failed: %s", self.name, exc)
            # keep leading while our last lease surely holds; stop well before it runs out
            margin = self.ttl.total_seconds() / 3
            if self._valid_until is None or monotonic() >= self._valid_until - margin:
                self._set(False)
            return self.is_leader
        if got == self.holder:
            self._valid_until = asked + self.ttl.total_seconds()
        else:
            self._valid_until = None
        self._set(got == self.holder)
        return self.is_leader

    def _set(self, leader: bool) -> None:
        if leader != self.is_leader:
            self.is_leader = leader
            log.log(
                logging.INFO if leader else logging.WARNING,
                "lease %s: %s",
                self.name,
                "taken" if leader else "lost",
            )
            self.on_change(leader)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"lease-{self.name}")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.renew_s)
            await self.try_acquire()

    async def stop(self) -> None:
        """Stop renewing and hand the lease back (others take over without waiting)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.is_leader:
            self.is_leader = False
            self.on_change(False)
            log.info("lease %s: released", self.name)
            with contextlib.suppress(Exception):
                async with self.db.transaction() as s:
                    await s.execute(
                        delete(Lease).where(Lease.name == self.name, Lease.holder == self.holder)
                    )
        self._valid_until = None
