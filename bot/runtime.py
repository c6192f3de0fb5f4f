"""The running bot: storage, inbox, dispatcher, outbox and periodic jobs, started and stopped
together.

Rules:
- Start: the schema is brought up to date, the adopted groups join the configuration
  (bot/adoptions.py), the robot pacing window is restored, and events stored but not
  processed before a crash are processed.
- Stop (SIGTERM/SIGINT): stop taking requests (the web layer), store what was accepted, finish
  the events in flight, flush what is due in the outbox — all within ``shutdown_timeout_s``.
- ``ingest_only`` (the web process of ``[server] split_worker``): accept, store and serve only;
  no dispatcher, outbox, jobs or feature hooks run here — its worker process runs them
  (bot/worker_process.py) and is nudged through ``nudge``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import aiohttp

from bot import adoptions, loops, retention
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.dispatch.dispatcher import Dispatcher
from bot.dispatch.router import build_registry
from bot.feature import Feature
from bot.first_start import record_first_start
from bot.inbox import Inbox
from bot.jobs import JobRunner
from bot.leader import LeaderLease
from bot.metrics import Metrics
from bot.outbox.app_sender import WeComAppSender
from bot.outbox.senders import (
    AibotUrlSender,
    ConsoleSender,
    OneBotSender,
    WeComRobotSender,
)
from bot.outbox.worker import OutboxWorker
from bot.preflight import StartupError, check_database
from bot.services import Services
from bot.wecom_api import client_for
from storage.db import Database
from storage.migrate import upgrade

log = logging.getLogger("groupbot")
Hook = Callable[["Bot"], Awaitable[None]]
DISPATCH_COALESCE_S = 0.005
# a wake-up that finds this many events stored since the last batch was taken (or a last batch
# this big: a burst) starts at once instead of waiting out [bot] dispatch_linger_ms
LINGER_ENOUGH = 16


class Bot:
    def __init__(
        self,
        config: Config,
        clock: Clock | None = None,
        *,
        workers: bool = True,
        console_sink: Callable[[str], None] | None = None,
        migrate: bool = True,
        ingest_only: bool = False,
        keep_console: bool = True,
        features: Sequence[Feature] | None = None,
        run_jobs: bool = True,
    ) -> None:
        """``run_jobs=False``: the periodic jobs run only at start (``at_start``) and when
        ``bot.jobs.run_due()`` is called — tests that move a fake clock themselves."""
        self.config = config
        # the features the configuration was parsed for, unless told otherwise
        self.features: tuple[Feature, ...] = tuple(
            config.features if features is None else features
        )
        self.clock = clock or SystemClock()
        self.db = Database(config.storage.url, shared_writers=config.server.split_worker)
        self.ingest_only = ingest_only
        self.workers = workers and config.server.workers and not ingest_only
        # set by the web process of split_worker: tells the worker process ("i"/"o")
        self.nudge: Callable[[bytes], None] | None = None
        self.migrate = migrate
        self.instance_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        routers = [f.router for f in self.features if f.router is not None]
        self.services = Services(config, self.clock, self.db, routers, build_registry(routers))
        self.services.preloaders = [
            r for f in self.features for r in f.repositories if r.preloads()
        ]
        self.metrics = Metrics()
        self._dispatch_wake = asyncio.Event()
        self._gathered = asyncio.Event()  # LINGER_ENOUGH events stored since the last batch
        self._stored_since = 0
        self._outbox_wake = asyncio.Event()
        self.inbox = Inbox(self.db, self.clock, on_stored=self._on_stored)
        self.dispatcher = Dispatcher(self.services)
        self.console = ConsoleSender(
            console_sink or (lambda line: log.info("console: %s", line)), keep=keep_console
        )
        self.outbox: OutboxWorker | None = None
        self.http: aiohttp.ClientSession | None = None
        # the features' periodic jobs and the core's (bot/jobs.py); several instances may
        # share one database: of the instances that run workers, only the lease holder runs
        # them (bot/leader.py)
        jobs = (retention.JOB, *(j for f in self.features for j in f.jobs))
        self.jobs = JobRunner(self, jobs, self.clock, loop=run_jobs)
        self.leader = LeaderLease(self.db, self.instance_id, self._on_leader)
        self.startup_hooks: list[Hook] = [f.startup for f in self.features if f.startup]
        self.shutdown_hooks: list[Hook] = [f.shutdown for f in self.features if f.shutdown]
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.started = False
        self.first_start: datetime | None = None  # on this database (bot/first_start.py)

    async def start(self) -> None:
        try:  # before anything else: an unreachable database is one line naming [storage] url
            await check_database(self.db)
        except StartupError:
            await self.db.dispose()
            raise
        if self.migrate:
            await upgrade(self.db)
        self.first_start = await record_first_start(self.db, self.clock.now())
        await adoptions.refresh(self.services, force=True)  # groups adopted before this start
        self.http = aiohttp.ClientSession()
        senders: dict[str, Any] = {
            "console": self.console,
            "wecom_robot": WeComRobotSender(self.http, self.config.wecom.api_base),
            "onebot": OneBotSender(
                self.http, self.config.onebot.api_url, self.config.onebot.access_token
            ),
            "aibot": AibotUrlSender(self.http, self.config.wecom.api_base, self.clock),
            "wecom_app": WeComAppSender(lambda: client_for(self), self.config.wecom.agent_id),
        }
        self.outbox = OutboxWorker(
            self.db,
            self.clock,
            senders,
            robot_rate_per_minute=self.config.wecom.robot_rate_per_minute,
            merge=self.config.bot.merge_replies,
            merge_max=self.config.bot.merge_max_replies,
            in_flight=self.config.bot.sends_in_flight,
        )
        await self.outbox.seed_limits()
        outbox = self.outbox
        self.metrics.watch(
            lambda: {
                "events_processed": self.dispatcher.processed,
                "events_failed": self.dispatcher.failed,
                "messages_sent": outbox.sent,
                "messages_dead": outbox.dead,
            }
        )
        self.inbox.start()
        if self.ingest_only:
            self.started = True
            return
        # retries and events stored ahead of a wall clock that stepped back: due now
        await self.dispatcher.retries.rebase_stored()
        for hook in self.startup_hooks:
            await hook(self)
        if self.workers:
            await self.leader.try_acquire()  # (resumes the jobs when this instance leads)
            await self.jobs.start()
            self.leader.start()
        else:  # not part of a cluster (`groupbot chat`, tests): jobs run as ever
            self.jobs.resume()
            await self.jobs.start()
        if self.workers:
            self._tasks = [
                asyncio.create_task(loops.dispatch_loop(self), name="dispatch"),
                asyncio.create_task(loops.outbox_loop(self), name="outbox"),
            ]
            self._dispatch_wake.set()
        self.started = True

    def _on_leader(self, leader: bool) -> None:
        """Run the periodic jobs only while holding the scheduler lease; a takeover runs
        every job now rather than a period later."""
        if leader:
            self.jobs.resume(now=self.started)
        else:
            self.jobs.pause()

    @property
    def processes_events(self) -> bool:
        """True when stored events get processed here or by this web process's worker."""
        return self.workers or self.ingest_only

    def _on_stored(self, n: int = 1) -> None:
        self._dispatch_wake.set()
        self._stored_since += n
        if self._stored_since >= LINGER_ENOUGH:
            self._gathered.set()
        if self.nudge is not None:
            self.nudge(b"i")

    def wake_dispatch(self) -> None:
        """Something was stored for the dispatcher (split_worker's web process nudges)."""
        self._on_stored()

    def hurry(self) -> None:
        """Someone waits for the next batch's outcome (a passive reply in an open request): end
        the linger now (in the worker process too, with ``split_worker``)."""
        self._gathered.set()
        if self.nudge is not None:
            self.nudge(b"h")

    def wake_outbox(self) -> None:
        self._outbox_wake.set()
        if self.nudge is not None:
            self.nudge(b"o")

    async def _linger(self, last_batch: int) -> None:
        """Let events gather before a batch: one transaction, one set of preloads and one
        delivery round for all that arrive within ``[bot] dispatch_linger_ms`` — at everyday
        load each event otherwise pays a batch's fixed cost alone. Never in a burst (the last
        batch was big) and never past ``LINGER_ENOUGH`` stored events: a burst keeps its pace."""
        linger = self.config.bot.dispatch_linger_ms / 1000
        if linger <= DISPATCH_COALESCE_S or last_batch >= LINGER_ENOUGH:
            await asyncio.sleep(DISPATCH_COALESCE_S)
        elif self._stored_since < LINGER_ENOUGH and not self._stopping:
            with contextlib.suppress(TimeoutError):
                await loops.wait_set(self._gathered, linger)

    async def drain(self, rounds: int = 50) -> None:
        """Process every due event and deliver every due message (tests, `chat`, shutdown)."""
        assert self.outbox is not None
        for _ in range(rounds):
            n = await self.dispatcher.run_once()
            m = await self.outbox.run_once()
            if n == 0 and m == 0:
                return

    async def stop(self) -> None:
        """Graceful: finish accepted work within the configured bound, then close."""
        if not self.started:
            return
        self._stopping = True
        self._dispatch_wake.set()
        self._gathered.set()
        self._outbox_wake.set()
        if self.ingest_only:  # what was accepted is stored; the worker process does the rest
            await self.inbox.stop()
            if self.http is not None:
                await self.http.close()
            await self.db.dispose()
            return
        await self.jobs.stop(self.config.server.shutdown_timeout_s)
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(t, timeout=self.config.server.shutdown_timeout_s)
        await self.inbox.stop()
        if self.workers:  # an instance that does not process never starts on a stop either
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.drain(), timeout=self.config.server.shutdown_timeout_s)
        for hook in self.shutdown_hooks:
            with contextlib.suppress(Exception):
                await hook(self)
        await self.leader.stop()
        if self.http is not None:
            await self.http.close()
        await self.db.dispose()
        self.started = False
