"""Delivers queued outbox rows: in order per target, paced, retried, dead-lettered.

Rules:
- Rows for one target (a robot key, a group) go out in id order, one at a time; different
  targets proceed in parallel, at most ``in_flight`` messages at once (``[bot]
  sends_in_flight``, 8): a send takes a slot and gives it back only once its outcome is
  recorded, so a slow platform's answer never holds more than that many.
- WeCom robot keys get at most ``robot_rate_per_minute`` calls in any 60 s; a row that would
  exceed it waits (its ``next_attempt_at`` moves) instead of being sent.
- Retryable trouble backs off exponentially (max 5 min) and, after ``max_attempts`` failures,
  the row is dead with the last reason; a rate limit (45009) is waited out and not counted.
- A row is marked sent in its own short transaction right after the platform accepted it,
  waiting for no other send (``marks.py``). Crash bound: a message whose request was made but
  whose outcome was not yet recorded when the process died is sent once more after restart —
  that is at most ``in_flight`` messages in all, at most one per target, each carrying at
  most ``merge_max`` replies (the window lasts from the request until the mark commits: up to
  the 10 s request timeout on a slow platform, not only the commit). Nothing is ever lost.
- A mark that cannot be written (disk full, read-only file, a foreign write lock) is kept in
  memory and written again — never the send — until it sticks; meanwhile no send is started
  (it counts against the bound above) and ``unwritten`` tells /healthz.
- Texts for one target that are due together may go out as one message (``merge.py``, at
  most ``merge_max`` rows); the rows of such a message are marked in one statement.
- On PostgreSQL several instances share the queue: each target is claimed by one instance at
  a time (``bot/outbox/claim.py``), so no row is sent twice and per-target order and pacing
  hold across instances.
- Backoff and pacing deadlines and the robot window run on the monotonic clock; what is
  stored is re-based at start (``deadlines.py``), so a wall-clock step does not stall a target.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, func, select

from bot.clock import Clock
from bot.outbox import claim, merge
from bot.outbox.deadlines import MAX_BACKOFF_S, Deadlines
from bot.outbox.limiter import SlidingWindow, rebase
from bot.outbox.marks import MARK_RETRY_S, Marks
from bot.outbox.senders import Permanent, Retry
from storage import direct
from storage.db import Database
from storage.direct import prepared
from storage.models import OutboxMessage

log = logging.getLogger("groupbot.outbox")
IN_FLIGHT = 8  # default of [bot] sends_in_flight


# built once: building a statement costs more than running it, and they run on every wake-up
_O = OutboxMessage.__table__.c  # (table columns: Core queries, run on the driver connection)
_DUE = prepared(
    select(*_O)
    .where(_O.status == "queued", _O.next_attempt_at <= bindparam("now"))
    .order_by(_O.id)
    .limit(bindparam("limit"))
)
_ANY_DUE = prepared(
    select(_O.id).where(_O.status == "queued", _O.next_attempt_at <= bindparam("now")).limit(1)
)
_WAITING = prepared(
    select(_O.target, func.min(_O.id))
    .where(_O.status == "queued", _O.next_attempt_at > bindparam("now"))
    .group_by(_O.target)
)
# only the first queued row of each target can become due (order per target)
_HEADS = (
    select(func.min(OutboxMessage.id))
    .where(OutboxMessage.status == "queued")
    .group_by(OutboxMessage.target)
)
_NEXT_DUE = select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.id.in_(_HEADS))


class Sender(Protocol):
    async def send(self, row: OutboxMessage) -> None: ...


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        senders: dict[str, Sender],
        robot_rate_per_minute: int = 20,
        max_attempts: int = 8,
        batch: int = 500,
        merge: bool = True,
        merge_max: int = merge.MAX_ROWS,
        in_flight: int = IN_FLIGHT,
    ) -> None:
        self.db = db
        self.clock = clock
        self.senders = senders
        self.limiter = SlidingWindow(robot_rate_per_minute)
        self.max_attempts = max_attempts
        self.batch = batch
        self.merge = merge
        self.merge_max = merge_max
        # a send holds a slot from before its request until its outcome is recorded
        self._slots = asyncio.Semaphore(in_flight)
        self._busy: set[str] = set()
        self.marks = Marks(db)
        self.sent = 0
        self.dead = 0
        # False when the last run left nothing queued that it knew of: no row waiting for a
        # later time, none held back, none left for a next batch (see ``waiting``)
        self._waiting = True
        self.deadlines = Deadlines(db, clock)

    async def seed_limits(self) -> None:
        """Carry the last minute of robot calls over a restart."""
        await self.deadlines.rebase_stored()
        since = self.clock.now() - timedelta(seconds=60)
        async with self.db.read() as s:
            rows = await s.execute(
                select(OutboxMessage.target, OutboxMessage.last_attempt_at).where(
                    OutboxMessage.channel == "wecom_robot",
                    OutboxMessage.last_attempt_at >= since,
                )
            )
            by_key: dict[str, list[float]] = {}
            for target, at in rows:
                if at is not None:  # (the query asks for last_attempt_at >= since)
                    by_key.setdefault(target, []).append(at.timestamp())
        wall, mono = self.clock.time(), self.clock.monotonic()
        for key, times in by_key.items():
            self.limiter.seed(key, rebase(times, wall, mono))

    async def due(self) -> list[OutboxMessage]:
        """The rows to send now (SQLite; read-only rows with the model's attribute names)."""
        params = {"now": self.clock.now(), "limit": self.batch}
        async with self.db.read_connection() as conn:
            rows = (await direct.run(conn, _DUE, params)).all()
            # a row waiting for its retry holds back the later rows of its target (in order)
            first = dict((await direct.run(conn, _WAITING, params)).all())
        self._waiting = bool(first) or len(rows) >= self.batch
        return [r for r in rows if r.id < first.get(r.target, r.id + 1)]

    @property
    def waiting(self) -> bool:
        """Whether the loop must ask ``next_due_in``: False when the last run left nothing
        queued that it knew of and every outcome is written (a new row comes with a wake-up)."""
        return self._waiting or bool(self.marks.pending)

    @property
    def unwritten(self) -> int:
        """How many outcomes wait for the database to take them (0 when all is written)."""
        return self.marks.pending

    async def anything_due(self) -> bool:
        """The idle look: whether ``run_once`` would find work (an outcome to write, a row
        due now), on the read path (cheaper than a delivery round that finds nothing)."""
        if self.marks.pending:
            return True
        await self.deadlines.release()
        return await self.db.peek(_ANY_DUE, {"now": self.clock.now()}) is not None

    async def run_once(self) -> int:
        """Deliver what is due now; returns how many rows were attempted."""
        if not await self.marks.flush():
            return 0  # the database takes no writes: send nothing it could not record
        await self.deadlines.release()
        if self.db.dialect == "postgresql":
            self._waiting = True  # (other instances queue and claim rows too)
            return await self._run_claimed()
        rows = await self.due()
        by_target: dict[str, list[OutboxMessage]] = {}
        for r in rows:
            if r.target not in self._busy:
                by_target.setdefault(r.target, []).append(r)
            else:
                self._waiting = True
        if not by_target:
            return 0
        counts = await asyncio.gather(*(self._target(t, rs) for t, rs in by_target.items()))
        return sum(counts)

    async def _run_claimed(self) -> int:
        """Several instances: deliver only the targets this instance claimed."""
        now = self.clock.now()
        rows, until = await claim.claim(self.db, now, self.batch, self._busy)
        by_target: dict[str, list[OutboxMessage]] = {}
        for r in rows:
            by_target.setdefault(r.target, []).append(r)
        robots = [t for t, rs in by_target.items() if rs[0].channel == "wecom_robot"]
        await claim.load_window(self.db, self.limiter, robots, now, self.clock.monotonic())
        jobs = (self._target(t, rs, until) for t, rs in by_target.items())
        return sum(await asyncio.gather(*jobs))

    async def next_due_in(self) -> float | None:
        """Seconds until the earliest queued row is due (None when nothing is queued)."""
        if self.marks.pending:
            return MARK_RETRY_S
        async with self.db.read() as s:
            at = await s.scalar(_NEXT_DUE)
        if at is None:
            return None
        wait = max(0.0, (at - self.clock.now()).total_seconds())
        held = self.deadlines.soonest_in()  # a deferred row is due by monotonic time at latest
        return wait if held is None else min(wait, held)

    async def _target(
        self, target: str, rows: list[OutboxMessage], lease_until: datetime | None = None
    ) -> int:
        self._busy.add(target)
        done = 0
        try:
            margin = timedelta(seconds=claim.SEND_MARGIN_S)
            for run in merge.runs(rows, self.merge, self.merge_max):
                async with self._slots:
                    if self.marks.pending:
                        self._waiting = True
                        break  # an outcome not on disk: start nothing until it is written
                    if lease_until is not None and self.clock.now() + margin > lease_until:
                        break  # the claim may run out mid-send: let it be claimed afresh
                    ok = await self._deliver(run)
                done += len(run)
                if not ok or self.marks.pending:
                    self._waiting = True  # it is due again later (or its outcome is unwritten)
                    break  # keep order: later rows for this target wait for this one
            if lease_until is not None:
                await claim.release(self.db, rows[done:], self.clock.now())
        finally:
            self._busy.discard(target)
        return done

    async def _deliver(self, run: list[OutboxMessage]) -> bool:
        """Send one message (one row, or a merged run); False when the target must wait."""
        now = self.clock.now()
        row = merge.combined(run)
        ids = [r.id for r in run]
        if row.channel == "wecom_robot":
            wait = self.limiter.reserve(row.target, self.clock.monotonic())
            if wait > 0:
                await self.marks.record(ids, next_attempt_at=self.deadlines.hold(ids, wait))
                return False
        sender = self.senders.get(row.channel)
        try:
            if sender is None:
                raise Permanent(f"no sender for channel {row.channel}")
            await sender.send(row)
        except Retry as exc:
            attempts = row.attempts + (0 if exc.pacing else 1)
            if attempts >= self.max_attempts:
                return await self._dead(run, attempts, exc.reason)
            delay = min(MAX_BACKOFF_S, exc.after_s if exc.after_s is not None else 2**attempts)
            log.warning("outbox %s retry in %ss: %s", row.id, delay, exc.reason)
            until = self.deadlines.hold(ids, delay)
            await self.marks.record(
                ids,
                attempts=attempts,
                last_error=exc.reason,
                last_attempt_at=now,
                next_attempt_at=until,
            )
            return False
        except Permanent as exc:
            await self._dead(run, row.attempts + 1, exc.reason)
            return True
        except Exception as exc:  # a bug in a sender must not kill the worker
            log.exception("outbox %s: sender crashed", row.id)
            await self._dead(run, row.attempts + 1, f"{type(exc).__name__}: {exc}")
            return True
        await self.marks.record(
            ids,
            status="sent",
            attempts=row.attempts + 1,
            sent_at=self.clock.now(),
            last_attempt_at=now,
        )
        self.sent += len(run)
        return True

    async def _dead(self, run: list[OutboxMessage], attempts: int, reason: str) -> bool:
        ids = [r.id for r in run]
        log.error("outbox %s dead after %d attempts: %s", ids, attempts, reason)
        await self.marks.record(
            ids,
            status="dead",
            attempts=attempts,
            last_error=reason[:2000],
            last_attempt_at=self.clock.now(),
        )
        self.dead += len(run)
        return True
