"""Retry and pacing deadlines on the monotonic clock, and re-basing what is stored.

Rules:
- A row the worker defers (backoff, pacing) is due again when its delay has passed in
  monotonic time. Its stored ``next_attempt_at`` (wall time, kept for a restart) is moved to
  the wall clock's now at that moment, so a wall clock that stepped back meanwhile does not
  hold it — nor the later rows of its target — for the length of the step.
- Rows queued to go out at once (``next_attempt_at`` = ``created_at``) before a backward step
  are due now: when the wall clock is seen to step back (against the monotonic clock), and at
  start. Rows queued for a later wall time (``not_before``, a hold-back) keep it.
- That move happens only while the row still carries the deadline this process stored (a
  claim by another instance or a send changed it otherwise).
- At start, an attempted row whose ``next_attempt_at`` lies further ahead than
  ``MAX_BACKOFF_S`` cannot have been set by the worker on this wall clock: it is due now.
  Rows never attempted keep theirs (a hold-back or a ``not_before`` chosen on purpose).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import update

from bot.clock import Clock
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger("groupbot.outbox")
_SLACK = timedelta(seconds=1)
STEP_S = 1.0  # the wall clock moving back against the monotonic one by more is a step
MAX_BACKOFF_S = 300.0  # the longest delay the worker sets (backoff, pacing, a platform's hint)


class Deadlines:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        # row id → (monotonic time it is due again, the wall time stored for it)
        self._held: dict[int, tuple[float, datetime]] = {}
        self._offset: float | None = None  # wall − monotonic when last looked

    def hold(self, ids: list[int], delay: float) -> datetime:
        """Defer ``ids`` by ``delay`` seconds; returns the wall time to store."""
        stored = self.clock.now() + timedelta(seconds=delay)
        at = self.clock.monotonic() + delay
        for i in ids:
            self._held[i] = (at, stored)
        return stored

    def soonest_in(self) -> float | None:
        """Monotonic seconds until the first deferred row is due (None when none is)."""
        if not self._held:
            return None
        soonest = min(at for at, _ in self._held.values())
        return max(0.0, soonest - self.clock.monotonic())

    async def release(self) -> None:
        """Make the rows whose delay has passed in monotonic time due now in the database, and
        after a backward step the rows that were queued to go out at once."""
        offset = self.clock.time() - self.clock.monotonic()
        if self._offset is not None and offset < self._offset - STEP_S:
            await self._queued_for_now()
        self._offset = offset
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
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id.in_(ids),
                        OutboxMessage.status == "queued",
                        # (a range: the two write paths store sub-seconds differently)
                        OutboxMessage.next_attempt_at.between(stored - _SLACK, stored + _SLACK),
                        OutboxMessage.next_attempt_at > now,
                    )
                    .values(next_attempt_at=now)
                )
        for ids in by_stored.values():
            for i in ids:
                del self._held[i]

    async def _queued_for_now(self) -> None:
        now = self.clock.now()
        async with self.db.transaction() as s:
            await s.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == "queued",
                    OutboxMessage.next_attempt_at > now,
                    OutboxMessage.next_attempt_at <= OutboxMessage.created_at,
                )
                .values(next_attempt_at=now)
            )

    async def rebase_stored(self) -> int:
        """At start: stored deadlines beyond the longest backoff, and rows queued to go out at
        once, are due now; returns how many retried rows were moved."""
        self._offset = self.clock.time() - self.clock.monotonic()
        await self._queued_for_now()
        now = self.clock.now()
        async with self.db.transaction() as s:
            result = await s.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == "queued",
                    OutboxMessage.last_attempt_at.is_not(None),
                    OutboxMessage.next_attempt_at > now + timedelta(seconds=MAX_BACKOFF_S),
                )
                .values(next_attempt_at=now)
            )
        moved = int(getattr(result, "rowcount", 0) or 0)
        if moved:
            log.warning("outbox: %d retry deadline(s) beyond the longest backoff, due now", moved)
        return moved
