"""The bot's first start on a database: recorded once, never moved by later starts, and seeded
from what an earlier release recorded (the programme's own marker), so a restart after the
upgrade still catches up what it missed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot import first_start
from bot.runtime import Bot
from storage.models import GroupSetting
from storage.models_programme import ProgrammeOccurrence
from tests.fakes.clock import FakeClock
from tests.harness import make_config
from tests.test_programme import SLOTS, WED_10


async def _start(tmp_path: Path, clock: FakeClock, create: bool = False) -> Bot:
    bot = Bot(make_config(tmp_path, SLOTS), clock, workers=False, migrate=False, console_sink=print)
    if create:
        await bot.db.create_all()
    await bot.start()
    return bot


async def test_the_first_start_is_kept_by_later_starts(tmp_path: Path) -> None:
    clock = FakeClock(WED_10 - timedelta(days=2))
    bot = await _start(tmp_path, clock, create=True)
    assert bot.first_start == WED_10 - timedelta(days=2)
    await bot.stop()
    clock.set(WED_10)
    bot = await _start(tmp_path, clock)
    async with bot.db.read() as s:
        assert await first_start(s) == WED_10 - timedelta(days=2) == bot.first_start
    await bot.stop()


async def test_a_database_of_an_earlier_release_keeps_its_first_start(tmp_path: Path) -> None:
    clock = FakeClock(WED_10 - timedelta(hours=2))
    bot = await _start(tmp_path, clock, create=True)
    await bot.stop()
    async with bot.db.transaction() as s:  # as an earlier release left it: its own marker only
        marker = await s.get(GroupSetting, ("*", "bot.first_start"))
        assert marker is not None
        s.add(
            GroupSetting(
                group_id="*",
                key="programme.first_start",
                value=marker.value,
                updated_by="",
                updated_at=clock.now(),
            )
        )
        await s.delete(marker)
    await bot.db.dispose()
    clock.set(WED_10 + timedelta(minutes=10))  # back after the 10:00 slot, within its grace
    bot = await _start(tmp_path, clock)
    assert bot.first_start == WED_10 - timedelta(hours=2)
    await bot.drain()
    async with bot.db.read() as s:
        rows = (await s.scalars(select(ProgrammeOccurrence))).all()
    # caught up from the earlier first start (08:00): 10:00 posted late within its grace,
    # 08:30 missed — neither left out as "before start"
    got = {(r.slot_id, r.group_id, r.status, r.late) for r in rows}
    assert got == {
        ("benefit", "g1", "sent", True),
        ("benefit", "g2", "sent", True),
        ("morning", "g1", "skipped", False),
    }
    await bot.stop()
