"""The programme table with a controllable clock: exactly-once posting, quiet hours,
campaigns, holidays, catch-up after a restart, two instances on one database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config import ConfigError, parse_config
from bot.runtime import Bot
from handlers import FEATURES
from handlers.programme.ticks import catch_up, tick
from schedules.due import GroupView, occurrences
from schedules.model import Campaign, Slot
from storage.models_programme import ProgrammeOccurrence
from tests.fakes.clock import FakeClock
from tests.harness import Harness, make_config

SH = ZoneInfo("Asia/Shanghai")
WED_10 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
SLOTS = {
    "programme": {
        "slots": [
            {
                "id": "benefit",
                "days": ["wed"],
                "time": "10:00",
                "theme": "会员福利日",
                "content": "今天是{weekday}会员福利日！已有 {checkins_today} 人签到",
                "targets": ["tag:t"],
            },
            {
                "id": "morning",
                "days": ["daily"],
                "time": "08:30",
                "theme": "早安",
                "pool": ["早安 A", "早安 B"],
                "targets": ["g1"],
            },
        ]
    }
}


async def posts(h: Harness) -> list[str]:
    return [line for line in h.lines if "福利日" in line or "早安" in line]


async def test_wednesday_slot_posted_once_to_each_target(
    make_harness: Callable[..., Awaitable[Harness]],
) -> None:
    h = await make_harness(SLOTS, clock=FakeClock(WED_10 - timedelta(minutes=1)))
    await h.say("bob", "/签到")
    h.clock.advance(timedelta(seconds=65))
    for _ in range(3):  # repeated ticks, overlapping windows
        await tick(h.bot)
        await h.bot.drain()
    lines = [line for line in h.lines if "会员福利日" in line]
    assert sorted(line.split("]")[0] for line in lines) == ["[g1", "[g2"]
    assert "周三会员福利日" in lines[0] and "已有 1 人签到" in lines[0]


def test_quiet_hours_slot_is_a_config_error_with_key_path() -> None:
    data = {
        "programme": {
            "quiet_hours": "22:00-08:00",
            "slots": [{"id": "late", "time": "23:30", "content": "晚安"}],
        },
        "groups": [{"id": "g1"}],
    }
    with pytest.raises(ConfigError) as exc:
        parse_config(data, FEATURES, environ={})
    assert "programme.slots[0].time: 23:30 falls in the quiet hours" in exc.value.problems[0]
    ok = {**data, "groups": [{"id": "g1", "programme": {"quiet_hours": "23:45-07:00"}}]}
    assert (
        parse_config(ok, FEATURES, environ={}).feature("programme", "g1").quiet_hours
        == "23:45-07:00"
    )


def test_campaign_replaces_slot_and_holiday_skips() -> None:
    g = GroupView("g1", ("t",), SH)
    noon = Slot(id="noon", days=["weekdays"], time="12:00", content="新品种草")
    sale = Campaign(
        name="双11",
        start=date(2026, 11, 10),
        end=date(2026, 11, 11),
        replace=["noon"],
        slots=[Slot(id="sale", time="12:00", content="双11 大促")],
    )
    start = datetime(2026, 11, 8, tzinfo=SH)
    occ = occurrences(g, [noon], [sale], {date(2026, 11, 13)}, start, start + timedelta(days=7))
    got = [(o.at.astimezone(SH).date().day, o.slot.id) for o in occ]
    assert got == [(9, "noon"), (10, "sale"), (11, "sale"), (12, "noon")]


async def _bot(tmp: Path, clock: FakeClock) -> Bot:
    bot = Bot(
        make_config(tmp, SLOTS), clock, workers=False, migrate=False, console_sink=lambda _l: None
    )
    await bot.db.create_all()
    await bot.start()  # on_startup runs the catch-up
    return bot


async def _restarted(tmp_path: Path, clock: FakeClock, down_at: timedelta) -> Bot:
    """A bot that first ran at 08:00 and comes back ``down_at`` after 10:00."""
    clock.set(WED_10 - timedelta(hours=2))
    first = await _bot(tmp_path, clock)
    await first.stop()
    clock.set(WED_10 + down_at)
    bot = Bot(first.config, clock, workers=False, migrate=False, console_sink=lambda _l: None)
    await bot.start()
    return bot


async def test_restart_ten_minutes_late_posts_once(tmp_path: Path) -> None:
    clock = FakeClock()
    bot = await _restarted(tmp_path, clock, timedelta(minutes=10))
    await bot.drain()
    await catch_up(bot)
    await bot.drain()
    lines = [line for line in bot.console.lines if "会员福利日" in line]
    assert len(lines) == 2  # g1 and g2
    async with bot.db.read() as s:
        q = select(ProgrammeOccurrence).where(ProgrammeOccurrence.slot_id == "benefit")
        rows = (await s.scalars(q)).all()
    assert len(rows) == 2 and {r.status for r in rows} == {"sent"} and all(r.late for r in rows)
    await bot.stop()


async def test_restart_two_hours_late_skips_and_tells_admins(tmp_path: Path) -> None:
    clock = FakeClock()
    bot = await _restarted(tmp_path, clock, timedelta(hours=2))
    await bot.drain()
    assert not [line for line in bot.console.lines if "今天是" in line]
    alerts = [line for line in bot.console.lines if "错过了发送时间" in line]
    assert any("会员福利日" in a for a in alerts)
    async with bot.db.read() as s:
        statuses = {r.status for r in (await s.scalars(select(ProgrammeOccurrence))).all()}
    assert statuses == {"skipped"}
    await bot.stop()


async def test_two_instances_post_once(tmp_path: Path) -> None:
    clock = FakeClock(WED_10 + timedelta(seconds=1))
    a = await _bot(tmp_path, clock)
    b = Bot(a.config, clock, workers=False, migrate=False, console_sink=lambda _l: None)
    await b.start()
    for bot in (a, b, a, b):
        await tick(bot)
        await bot.drain()
    lines = [x for x in a.console.lines + b.console.lines if "会员福利日" in x]
    assert len(lines) == 2
    await a.stop()
    await b.stop()


async def test_pool_rotates_and_week_table(make_harness: Callable[..., Awaitable[Harness]]) -> None:
    h = await make_harness(SLOTS, clock=FakeClock(datetime(2026, 11, 16, 0, 30, 5, tzinfo=UTC)))
    await tick(h.bot)
    await h.bot.drain()
    h.clock.advance(timedelta(days=1))
    await tick(h.bot)
    await h.bot.drain()
    assert [x.split("🤖 ")[1] for x in h.lines if "早安" in x] == ["早安 A", "早安 B"]
    table = (await h.say("bob", "/节目表"))[0]
    assert "11-16 周一 08:30 早安 [已发]" in table and "11-18 周三 10:00 会员福利日 [待发]" in table


async def test_static_slot_fans_out_once_across_instances(tmp_path: Path) -> None:
    static = {
        "programme": {
            "slots": [
                {
                    "id": "hello",
                    "days": ["wed"],
                    "time": "10:00",
                    "theme": "福利",
                    "content": "{weekday}{theme}来啦 @{group}",
                    "targets": ["all"],
                }
            ]
        }
    }
    clock = FakeClock(WED_10 + timedelta(seconds=2))
    cfg = make_config(tmp_path, static)
    a = Bot(cfg, clock, workers=False, migrate=False, console_sink=lambda _l: None)
    await a.db.create_all()
    await a.start()
    b = Bot(cfg, clock, workers=False, migrate=False, console_sink=lambda _l: None)
    await b.start()
    for bot in (a, b, a):
        await tick(bot)
        await bot.drain()
    lines = sorted(x for x in a.console.lines + b.console.lines if "来啦" in x)
    assert lines == ["[g1] 🤖 周三福利来啦 @测试群", "[g2] 🤖 周三福利来啦 @二群"]
    await a.stop()
    await b.stop()


async def test_scheduler_job_and_forward_clock_jump(
    make_harness: Callable[..., Awaitable[Harness]],
) -> None:
    h = await make_harness(SLOTS, clock=FakeClock(WED_10 - timedelta(minutes=20)))
    job = h.bot.jobs.get("programme-tick")
    assert job is not None and job.every_s == 30
    await tick(h.bot)
    h.clock.advance(timedelta(minutes=25))  # the process stalled (or the clock jumped) past 10:00
    await tick(h.bot)
    await h.bot.drain()
    assert len([x for x in h.lines if "会员福利日" in x]) == 2


async def test_a_new_install_reports_nothing_missed(tmp_path: Path) -> None:
    clock = FakeClock(WED_10 + timedelta(hours=2))
    bot = await _bot(tmp_path, clock)
    await bot.drain()
    assert not [line for line in bot.console.lines if "错过了发送时间" in line]
    await bot.stop()
