"""Inbox retry deadlines on the monotonic clock, and re-basing what is stored.

Rules:
- An event whose handlers failed is retried after ``backoff(attempts)`` seconds (2, 4, 8 …,
  at most ``MAX_BACKOFF_S``) of monotonic time; after ``max_attempts`` it ends ``failed``.
  Its stored ``next_attempt_at`` (wall time, kept for a restart) is moved to the wall clock's
  now once the delay has passed in monotonic time, so a wall clock stepped back meanwhile does
  not hold the retry for the length of the step. The move happens only while the row still
  carries the deadline this process stored (queued, unchanged).
- Events are stored due at once (``next_attempt_at`` = received). When the wall clock is seen
  to step back against the monotonic clock, and at start, queued events that lie ahead of the
  wall clock are due now if they were never retried, or if their deadline lies further ahead
  than ``MAX_BACKOFF_S`` (no deadline set on this wall clock can).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from bot.clock import Clock
from storage.db import Database
from storage.models import InboxEvent

log = logging.getLogger("groupbot.dispatch")
_SLACK = timedelta(seconds=1)
STEP_S = 1.0  # the wall clock moving back against the monotonic one by more is a step
MAX_BACKOFF_S = 300.0


def backoff(attempts: int) -> float:
    """Seconds before the retry that follows ``attempts`` failed runs."""
    return float(min(MAX_BACKOFF_S, 2**attempts))


class Retries:
    def __init__(self, db: Database, clock: Clock, max_attempts: int = 5) -> None:
        self.db = db
        self.clock = clock
        self.max_attempts = max_attempts
        # event id → (monotonic time it is due again, the wall time stored for it)
        self._held: dict[int, tuple[float, datetime]] = {}
        self._offset: float | None = None  # wall − monotonic when last looked

    def failed(self, event_id: int, attempts: int, exc: BaseException) -> dict[str, Any]:
        """The row's new values after its ``attempts``-th failed run: ``failed`` for good, or
        queued again after its backoff (held here in monotonic time)."""
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_error": f"{type(exc).__name__}: {exc}"[:2000],
        }
        if attempts >= self.max_attempts:
            values["status"] = "failed"
            self._held.pop(event_id, None)
            return values
        delay = backoff(attempts)
        stored = self.clock.now() + timedelta(seconds=delay)
        self._held[event_id] = (self.clock.monotonic() + delay, stored)
        values["next_attempt_at"] = stored
        return values

    async def release(self) -> None:
        """Make the events whose delay has passed in monotonic time due now in the database,
        and after a backward step of the wall clock those it would hold back."""
        offset = self.clock.time() - self.clock.monotonic()
        stepped = self._offset is not None and offset < self._offset - STEP_S
        self._offset = offset
        if stepped:
            await self._due_now()
        if not self._held:
            return
        mono = self.clock.monotonic()
        by_stored: dict[datetime, list[int]] = {}
        for i, (at, stored) in self._held.items():
            if at <= mono:
                by_stored.setdefault(stored, []).append(i)
        if not by_stored:
            return
        now = self.clock.now()
        async with self.db.transaction() as s:
            for stored, ids in by_stored.items():
                await s.execute(
                    update(InboxEvent)
                    .where(
                        InboxEvent.id.in_(ids),
                        InboxEvent.status == "queued",
                        # (a range: the drivers store sub-seconds differently)
                        InboxEvent.next_attempt_at.between(stored - _SLACK, stored + _SLACK),
                        InboxEvent.next_attempt_at > now,
                    )
                    .values(next_attempt_at=now)
                )
        for ids in by_stored.values():
            for i in ids:
                del self._held[i]

    async def _due_now(self) -> int:
        now = self.clock.now()
        async with self.db.transaction() as s:
            result = await s.execute(
                update(InboxEvent)
                .where(
                    InboxEvent.status == "queued",
                    InboxEvent.next_attempt_at > now,
                    (InboxEvent.attempts == 0)
                    | (InboxEvent.next_attempt_at > now + timedelta(seconds=MAX_BACKOFF_S)),
                )
                .values(next_attempt_at=now)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def rebase_stored(self) -> int:
        """At start: queued events ahead of the wall clock that cannot have been set on it
        are due now; returns how many were moved."""
        self._offset = self.clock.time() - self.clock.monotonic()
        moved = await self._due_now()
        if moved:
            log.warning("inbox: %d event(s) stored ahead of the wall clock, due now", moved)
        return moved
