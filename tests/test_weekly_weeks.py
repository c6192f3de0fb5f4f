"""The weekly summary's time rules: ISO weeks across a year's end, the latest due time, the
week a due time covers, the grace window."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.weekly.weeks import (
    BadWeek,
    Week,
    ended,
    in_grace,
    last_due,
    last_full_week,
    parse_week,
    week_for,
)

SH = ZoneInfo("Asia/Shanghai")


def test_iso_weeks_across_the_years_end() -> None:
    assert parse_week("2026-W53").monday == date(2026, 12, 28)  # 2026 has 53 weeks
    assert parse_week("2026-W53").next.name == "2027-W01"
    assert parse_week("2027-W01").previous.name == "2026-W53"
    assert Week.of(date(2027, 1, 3)).name == "2026-W53"  # a Sunday in January
    for bad in ("2027-W53", "2026-W00", "2026W48", "26-W48", "2026-W4", ""):
        with pytest.raises(BadWeek):
            parse_week(bad)


def test_the_latest_due_time_and_the_week_it_covers() -> None:
    monday_9 = datetime(2026, 11, 30, 9, tzinfo=SH)
    assert last_due(monday_9, SH, "mon", "09:00") == monday_9
    before = monday_9 - timedelta(minutes=1)
    assert last_due(before, SH, "mon", "09:00") == monday_9 - timedelta(days=7)
    assert week_for(monday_9, SH).name == "2026-W48"
    sunday_20 = datetime(2026, 11, 29, 20, tzinfo=SH)
    assert last_due(sunday_20, SH, "sun", "20:00") == sunday_20
    assert week_for(sunday_20, SH).name == "2026-W47"  # W48 has not ended at that time
    # a due time in the bot's timezone, whatever the clock's zone
    utc_now = datetime(2026, 11, 30, 1, 0, tzinfo=ZoneInfo("UTC"))
    assert last_due(utc_now, SH, "mon", "09:00") == monday_9


def test_grace_and_ended_weeks() -> None:
    due = datetime(2026, 11, 30, 9, tzinfo=SH)
    assert in_grace(due, due, timedelta(hours=24))
    assert in_grace(due + timedelta(hours=24), due, timedelta(hours=24))
    assert not in_grace(due + timedelta(hours=24, seconds=1), due, timedelta(hours=24))
    assert not in_grace(due - timedelta(seconds=1), due, timedelta(hours=24))
    sunday_night = datetime(2026, 11, 29, 23, 59, tzinfo=SH)
    assert last_full_week(sunday_night, SH).name == "2026-W47"
    assert not ended(parse_week("2026-W48"), sunday_night, SH)
    assert ended(parse_week("2026-W48"), sunday_night + timedelta(minutes=1), SH)
