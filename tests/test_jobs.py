"""Periodic jobs (bot/jobs.py): they wake on the monotonic clock, a wall clock stepped back
neither stalls them nor turns their runs into duplicates, a failing job keeps its schedule,
and only the scheduler leader runs them. With the fake clock (wall and monotonic apart)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import Feature, Job
from bot.runtime import Bot
from handlers import FEATURES
from handlers.welcome import flush_due
from tests.fakes.clock import FakeClock
from tests.harness import Harness, make_config

MakeHarness = Callable[..., Awaitable[Harness]]
HOUR = timedelta(hours=1)
# Wednesday 10:58:50 in Shanghai: a backward step of one hour lands just before 10:00
BEFORE_STEP = datetime(2026, 11, 18, 2, 58, 50, tzinfo=UTC)
CFG = {
    "referral": {"qualify_days": 0.01, "tiers": [{"invites": 1, "reward": "满100减20券"}]},
    "programme": {
        "slots": [
            {"id": "ten", "days": ["wed"], "time": "10:00", "content": "十点整点播报"},
        ]
    },
}


async def test_a_backward_step_delays_no_job(make_harness: MakeHarness) -> None:
    """C2: one hour back on the wall clock; greetings, the programme and the settlement
    still come when their time has passed in monotonic (and, for the post, wall) time."""
    h = await make_harness(CFG, clock=FakeClock(BEFORE_STEP))
    await h.say("ann", "/签到")
    await h.advance(seconds=30)
    await h.run_jobs()  # every job ran once on the old wall time
    h.clock.step_wall(-HOUR)  # 09:59:20 on the wall; monotonic time goes on
    await h.join("bo", inviter="ann", name="波波")
    await h.advance(seconds=40)  # 10:00:00
    said = await h.run_jobs()
    assert any("欢迎 波波" in line for line in said), said  # greeted 40 s after the step
    assert any("十点整点播报" in line for line in said), said  # the 10:00 post, on time
    await h.advance(minutes=15)  # past qualify_days (14.4 min) and a settlement interval
    said = await h.run_jobs()
    assert any("获得「满100减20券」" in line for line in said), said


async def test_a_wall_time_that_comes_again_is_no_duplicate(make_harness: MakeHarness) -> None:
    """C2: the flush job's key does not come from the wall clock; after one hour back and one
    hour on, the same wall second still queues a flush that greets."""
    h = await make_harness()
    await h.join("ann", name="安安")
    await h.advance(seconds=11)
    assert await flush_due(h.bot)
    assert any("欢迎 安安" in line for line in await h.advance(seconds=0))
    h.clock.step_wall(-HOUR)
    await h.join("bo", name="波波")
    h.clock.advance(HOUR)  # the very wall second of the first flush
    assert await flush_due(h.bot), "a repeated wall time made the flush a duplicate"
    assert any("欢迎 波波" in line for line in await h.advance(seconds=0))


RUNS: list[str] = []


async def _boom(bot: Bot) -> None:
    RUNS.append(bot.instance_id)
    raise RuntimeError("boom")


async def _record(bot: Bot) -> None:
    RUNS.append(bot.instance_id)


BOOM = Feature(name="boom", jobs=(Job("boom", _boom, every_s=10),))
RECORD = Feature(name="record", jobs=(Job("record", _record, every_s=60, at_start=True),))


async def _bot(tmp_path: Path, clock: FakeClock, extra: Feature, **kw: object) -> Bot:
    cfg = make_config(tmp_path)
    bot = Bot(
        cfg,
        clock,
        migrate=False,
        console_sink=lambda _line: None,
        features=[*FEATURES, extra],
        **kw,  # type: ignore[arg-type]
    )
    await bot.db.create_all()
    await bot.start()
    return bot


async def test_a_failing_job_logs_once_and_keeps_its_schedule(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    RUNS.clear()
    bot = await _bot(tmp_path, clock, BOOM, workers=False, run_jobs=False)
    try:
        caplog.set_level(logging.INFO, "groupbot.jobs")
        for _ in range(3):
            clock.advance(10)
            await bot.jobs.run_due()
        assert len(RUNS) == 3
        assert await bot.jobs.run_due() == 0  # not due again before its interval
        boom = bot.jobs.get("boom")
        assert boom is not None and boom.failures == 3
        tracebacks = [r for r in caplog.records if r.exc_info]
        assert len(tracebacks) == 1 and "boom" in tracebacks[0].getMessage()
        assert len([r for r in caplog.records if "failed again" in r.getMessage()]) == 2
        flush = bot.jobs.get("welcome-flush")
        assert flush is not None and flush.runs == 3  # the others ran all along
    finally:
        await bot.stop()


async def test_the_background_tasks_wake_on_the_monotonic_clock(tmp_path: Path) -> None:
    """The runner's own tasks (not only ``run_due``): a failing job keeps being run, and a
    wall clock stepped back changes nothing."""
    clock = FakeClock()
    RUNS.clear()
    bot = await _bot(tmp_path, clock, BOOM, workers=False)
    try:
        clock.step_wall(-HOUR)
        for n in (1, 2, 3):
            clock.advance(10)
            bot.jobs.wake()  # (the tasks sleep in real time; the fake clock tells them)
            for _ in range(500):
                if len(RUNS) >= n:
                    break
                await asyncio.sleep(0.01)
            assert len(RUNS) == n
        assert bot.jobs.running  # the failures stopped no task
    finally:
        await bot.stop()


async def test_only_the_leader_runs_jobs(tmp_path: Path) -> None:
    clock = FakeClock()
    RUNS.clear()
    a = await _bot(tmp_path, clock, RECORD, run_jobs=False)
    b = await _bot(tmp_path, clock, RECORD, run_jobs=False)
    try:
        assert a.leader.is_leader and not b.leader.is_leader
        assert RUNS == [a.instance_id]  # at_start: on the leader only
        clock.advance(60)
        await a.jobs.run_due()
        await b.jobs.run_due()
        assert RUNS == [a.instance_id] * 2
        await a.leader.stop()  # the leader goes: its jobs pause
        assert await b.leader.try_acquire()
        await b.jobs.run_due()  # a takeover runs every job at once, not a period later
        await a.jobs.run_due()
        assert RUNS == [a.instance_id] * 2 + [b.instance_id]
    finally:
        await b.stop()
        await a.stop()
