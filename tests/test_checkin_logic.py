"""Pure check-in rules: local day, streaks, points."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from handlers.checkin import logic
from handlers.checkin.config import CheckinConfig

SH = ZoneInfo("Asia/Shanghai")


def test_local_day_uses_group_timezone_and_reset_hour() -> None:
    at = datetime(2026, 11, 18, 16, 30, tzinfo=UTC)  # 00:30 on the 19th in Shanghai
    assert logic.local_day(at, SH) == date(2026, 11, 19)
    assert logic.local_day(at, SH, reset_hour=4) == date(2026, 11, 18)
    assert logic.local_day(at, ZoneInfo("UTC")) == date(2026, 11, 18)


def test_streaks() -> None:
    assert logic.next_streak(None, 0, date(2026, 11, 18)) == 1
    assert logic.next_streak(date(2026, 11, 17), 4, date(2026, 11, 18)) == 5
    assert logic.next_streak(date(2026, 11, 16), 4, date(2026, 11, 18)) == 1
    days = {date(2026, 11, d) for d in (1, 2, 3, 5, 6)}
    assert logic.best_streak(days) == 3
    assert logic.current_streak(days, date(2026, 11, 7)) == 2
    assert logic.current_streak(days, date(2026, 11, 8)) == 0


def test_points_tiers_weekday_and_campaign() -> None:
    cfg = CheckinConfig(
        base_points=10,
        streak_bonus={3: 2, 7: 5},
        weekday_multiplier={"wed": 2},
        campaigns=[{"name": "双11", "start": "2026-11-09", "end": "2026-11-11", "multiplier": 3}],
    )
    assert logic.points_for(cfg, 1, date(2026, 11, 16)) == 10  # Monday
    assert logic.points_for(cfg, 3, date(2026, 11, 16)) == 12
    assert logic.points_for(cfg, 8, date(2026, 11, 18)) == 30  # Wednesday ×2
    assert logic.points_for(cfg, 1, date(2026, 11, 11)) == 60  # Wednesday and 双11: ×2 ×3
    assert logic.earns_card(CheckinConfig(card_every=7), 14)
    assert not logic.earns_card(CheckinConfig(card_every=0), 14)


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValidationError):
        CheckinConfig(weekday_multiplier={"wednesday": 2})
    with pytest.raises(ValidationError):
        CheckinConfig(campaigns=[{"name": "x", "start": "2026-11-12", "end": "2026-11-11"}])
    with pytest.raises(ValidationError):
        CheckinConfig(reset_hour=24)
