"""The business rules of check-ins, as pure functions (no database, no clock).

- A member's "day" is the group's local calendar day, starting at ``reset_hour``.
- A streak continues when the previous check-in was the day before, else restarts at 1.
- Points = (base + the bonus of the highest streak tier reached) × weekday multiplier ×
  campaign multiplier; a make-up (补签) earns the base points only.
- A make-up card is earned each time the streak completes another ``card_every`` days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.checkin.config import WEEKDAYS, CheckinConfig


def local_day(at: datetime, tz: ZoneInfo, reset_hour: int = 0) -> date:
    return (at.astimezone(tz) - timedelta(hours=reset_hour)).date()


def next_streak(last_day: date | None, streak: int, day: date) -> int:
    return streak + 1 if last_day is not None and last_day == day - timedelta(days=1) else 1


def tier_bonus(cfg: CheckinConfig, streak: int) -> int:
    reached = [n for n in cfg.streak_bonus if n <= streak]
    return cfg.streak_bonus[max(reached)] if reached else 0


def multiplier(cfg: CheckinConfig, day: date) -> float:
    m = cfg.weekday_multiplier.get(WEEKDAYS[day.weekday()], 1.0)
    for c in cfg.campaigns:
        if c.start <= day <= c.end:
            m *= c.multiplier
    return m


def points_for(cfg: CheckinConfig, streak: int, day: date) -> int:
    return round((cfg.base_points + tier_bonus(cfg, streak)) * multiplier(cfg, day))


def earns_card(cfg: CheckinConfig, streak: int) -> bool:
    return cfg.card_every > 0 and streak > 0 and streak % cfg.card_every == 0


def run_ending_at(days: set[date], last: date) -> int:
    """Length of the run of consecutive days ending at ``last``."""
    n = 0
    d = last
    while d in days:
        n += 1
        d -= timedelta(days=1)
    return n


def current_streak(days: set[date], today: date) -> int:
    """The streak as of ``today``: alive if the last check-in was today or yesterday."""
    if today in days:
        return run_ending_at(days, today)
    return run_ending_at(days, today - timedelta(days=1))


def best_streak(days: set[date]) -> int:
    return max(
        (run_ending_at(days, d) for d in days if d + timedelta(days=1) not in days), default=0
    )


@dataclass(frozen=True, slots=True)
class Totals:
    """A member's check-in totals as stored (all zero before their first check-in)."""

    total_days: int = 0
    streak: int = 0
    best_streak: int = 0
    last_day: date | None = None
    points: int = 0
    season: str = ""  # "YYYY-MM": the month season_days/season_points count
    season_days: int = 0
    season_points: int = 0
    cards: int = 0


def after_checkin(t: Totals, day: date, streak: int, points: int, card: bool) -> Totals:
    """The totals after a check-in on ``day`` (the day's streak and points decided)."""
    season = day.strftime("%Y-%m")
    same = t.season == season
    return Totals(
        total_days=t.total_days + 1,
        streak=streak,
        best_streak=max(t.best_streak, streak),
        last_day=day,
        points=t.points + points,
        season=season,
        season_days=(t.season_days if same else 0) + 1,
        season_points=(t.season_points if same else 0) + points,
        cards=t.cards + (1 if card else 0),
    )


def rebuilt(t: Totals, rows: list[tuple[date, int]], today: date) -> Totals:
    """The totals recomputed from the (non-void) check-in rows (day, points); cards kept."""
    days = {d for d, _ in rows}
    last = max(days) if days else None
    season = today.strftime("%Y-%m")
    return Totals(
        total_days=len(days),
        streak=run_ending_at(days, last) if last else 0,
        best_streak=best_streak(days),
        last_day=last,
        points=sum(p for _, p in rows),
        season=season,
        season_days=sum(1 for d, _ in rows if d.strftime("%Y-%m") == season),
        season_points=sum(p for d, p in rows if d.strftime("%Y-%m") == season),
        cards=t.cards,
    )
