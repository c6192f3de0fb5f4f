"""Periodic work: every feature declares it one way (``Feature.jobs``) and the core runs it
here, on the monotonic clock, only on the scheduler leader.

Rules:
- A job is ``Job(id, run, every_s, at_start=False)``. ``run(bot)`` should only submit events
  (``submit``): the handler then does the work in a transaction, like any chat event. Work
  that must happen outside a transaction (the WeCom API calls, retention's chunked deletes)
  is done in ``run`` itself and must be safe to repeat.
- Each job has an asyncio task that sleeps until the job's next due time on the monotonic
  clock: ``every_s`` after its previous due time, or ``every_s`` after now when that has
  passed already (a stalled process, a jump: the missed runs become one). Stepping the wall
  clock (NTP, an operator) neither stalls nor hurries a job. A schedule that names a wall time
  (a post at 09:00, the nightly reconcile) computes its due times from the wall clock inside a
  job that wakes on this schedule.
- One job never runs twice at once. A job that raises is logged — with its traceback once per
  streak of failures, then one line per failure — and runs again at its next due time; it
  never stops the runner or the other jobs.
- Only the scheduler leader runs jobs (bot/leader.py): ``pause`` on losing the lease (a run in
  progress finishes), ``resume`` on taking it; a takeover runs every job at once.
- Tests and ``groupbot chat`` move their clock themselves: ``run_due()`` runs whatever is due
  by ``clock.monotonic()`` now; ``loop=False`` leaves the jobs to those calls alone.
- Event keys (``submit``) are ``{job}:{runner}:{n}``: ``runner`` is drawn at random when the
  runner is made (once per start), ``n`` counts this runner's submissions. No key comes twice,
  whatever the wall clock does (a wall-time slot would come again after a backward step, and
  the inbox would drop that run as a duplicate); the inbox's unique ``dedup_key`` keeps one
  submission one event. Instances never share keys, so the handlers must be idempotent (their
  effects carry keys of their own): the short overlap of a stalled ex-leader costs a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.events import Scheduled
from bot.feature import Job
from bot.loops import wait_set

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.runtime import Bot

log = logging.getLogger("groupbot.jobs")


@dataclass(eq=False)
class JobState:
    """What the runner knows of one job (``bot.jobs.get(id)``, ``bot.jobs.states()``)."""

    job: Job
    due: float  # monotonic time of the next run
    runs: int = 0
    failures: int = 0  # in a row, up to the last run
    running: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    wake: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def every_s(self) -> float:
        return self.job.every_s


class JobRunner:
    """Runs ``jobs`` for ``bot`` (see the module's rules)."""

    def __init__(self, bot: Bot, jobs: Sequence[Job], clock: Clock, *, loop: bool = True) -> None:
        ids = [j.id for j in jobs]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"job ids must be unique: {', '.join(dupes)}")
        self.bot = bot
        self.clock = clock
        self.loop = loop
        self.token = uuid.uuid4().hex[:12]
        self._seq = itertools.count(1)
        now = clock.monotonic()
        self._states = {j.id: JobState(j, now + j.every_s) for j in jobs}
        self._tasks: list[asyncio.Task[None]] = []
        self.active = False  # leading (or no cluster member): jobs run
        self.started = False
        self._closing = False

    @property
    def running(self) -> bool:
        """Started, not stopped, and (with ``loop``) every job's task alive."""
        alive = all(not t.done() for t in self._tasks)
        return self.started and not self._closing and alive

    def get(self, job_id: str) -> JobState | None:
        return self._states.get(job_id)

    def states(self) -> list[JobState]:
        return list(self._states.values())

    def key(self, job: str) -> str:
        """A dedup key for one submission of ``job`` that no run, here or anywhere, repeats."""
        return f"{job}:{self.token}:{next(self._seq)}"

    async def start(self) -> None:
        """Run the ``at_start`` jobs (when active) and start the tasks."""
        if self.started:
            return
        self.started = True
        if self.active:
            for st in self._states.values():
                if st.job.at_start:
                    await self._run(st, force=True)
        if self.loop:
            self._tasks = [
                asyncio.create_task(self._loop(st), name=f"job:{st.id}")
                for st in self._states.values()
            ]

    def resume(self, *, now: bool = False) -> None:
        """This instance leads (again); with ``now`` every job is due at once."""
        self.active = True
        if now:
            mono = self.clock.monotonic()
            for st in self._states.values():
                st.due = min(st.due, mono)
        self.wake()

    def pause(self) -> None:
        """Another instance leads: no further runs until ``resume``."""
        self.active = False
        self.wake()

    def wake(self) -> None:
        """Make the tasks look at the clock again (it was moved, or the state changed)."""
        for st in self._states.values():
            st.wake.set()

    async def run_due(self) -> int:
        """Run every job due by the clock now, one after another; returns how many ran."""
        ran = 0
        for st in list(self._states.values()):
            ran += await self._run(st)
        return ran

    async def run(self, job_id: str) -> bool:
        """Run one job now, due or not (a command, a test); False when not active."""
        return await self._run(self._states[job_id], force=True)

    async def _loop(self, st: JobState) -> None:
        while not self._closing:
            st.wake.clear()
            delay = st.due - self.clock.monotonic()
            if self.active and delay <= 0:
                await self._run(st)
                continue
            if not self.active:  # paused: until resumed or stopped
                await st.wake.wait()
                continue
            with contextlib.suppress(TimeoutError):
                await wait_set(st.wake, delay)  # (no task per wait, unlike ``wait_for``)

    async def _run(self, st: JobState, *, force: bool = False) -> bool:
        async with st.lock:
            if not self.active or self._closing:
                return False
            if not force and st.due > self.clock.monotonic():
                return False  # (another caller ran it meanwhile)
            st.running = True
            try:
                await st.job.run(self.bot)
            except Exception as exc:
                st.failures += 1
                if st.failures == 1:
                    log.exception("job %s failed", st.id)
                else:
                    log.warning("job %s failed again (%d in a row): %s", st.id, st.failures, exc)
            else:
                if st.failures:
                    log.info("job %s ran again after %d failure(s)", st.id, st.failures)
                st.failures = 0
            finally:
                st.running = False
                st.runs += 1
                mono = self.clock.monotonic()
                nxt = st.due + st.every_s  # (on its schedule, unless run out of turn or late)
                st.due = nxt if nxt > mono and not force else mono + st.every_s
            return True

    async def stop(self, grace_s: float = 5.0) -> None:
        """No further runs; a run in progress gets ``grace_s`` seconds to finish."""
        self._closing = True
        self.wake()
        tasks, self._tasks = self._tasks, []
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for t in pending:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self.started = False


async def submit(bot: Bot, job: str, data: dict[str, Any] | None = None) -> bool:
    """Queue one ``Scheduled(job=…)`` event under a fresh key (see the module's rules); True
    when stored (False only if this very key was stored before)."""
    event = Scheduled(
        dedup_key=bot.jobs.key(job),
        platform="internal",
        group_id=None,
        occurred_at=bot.clock.now(),
        job=job,
        data=data or {},
    )
    return (await bot.inbox.submit(event)).new
