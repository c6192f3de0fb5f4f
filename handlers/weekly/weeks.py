"""The weekly summary's time rules (pure: no clock, no database).

Rules:
- A week is an ISO week, Monday to Sunday in the bot's timezone, named ``2026-W48``.
- The summary due at a configured weekday and time covers the last full week that ended
  before that time (a Monday 09:00 summary covers the Monday-to-Sunday just ended; a Sunday
  20:00 one covers the week before the current one, which has not ended yet).
- The latest due time at or before ``now`` is what the job looks at: within ``grace`` of it the
  summary may still be posted (late, e.g. after the bot was down at that time); beyond it the
  week is left unposted (its summary can still be downloaded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK_RE = re.compile(r"(\d{4})-W(\d{2})")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BadWeek(ValueError):
    """Not a week a summary can be made for (the message says why)."""


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week by its Monday."""

    monday: date

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def name(self) -> str:
        year, number, _ = self.monday.isocalendar()
        return f"{year}-W{number:02d}"

    @property
    def previous(self) -> Week:
        return Week(self.monday - timedelta(days=7))

    @property
    def next(self) -> Week:
        return Week(self.monday + timedelta(days=7))

    @classmethod
    def of(cls, day: date) -> Week:
        return cls(day - timedelta(days=day.weekday()))

    def __str__(self) -> str:
        return self.name


def parse_week(raw: str) -> Week:
    """``2026-W48`` → the week (BadWeek for anything else, e.g. week 53 of a 52-week year)."""
    m = WEEK_RE.fullmatch(raw.strip())
    if m is None:
        raise BadWeek("week must look like 2026-W48 (ISO year and week)")
    try:
        return Week(date.fromisocalendar(int(m[1]), int(m[2]), 1))
    except ValueError:
        raise BadWeek(f"week: {raw.strip()} is not a week of that year") from None


def last_full_week(now: datetime, tz: ZoneInfo) -> Week:
    """The latest week that has ended by ``now``."""
    return Week.of(now.astimezone(tz).date()).previous


def ended(week: Week, now: datetime, tz: ZoneInfo) -> bool:
    """True when the week is over by ``now`` (only then is there a summary of it)."""
    return week <= last_full_week(now, tz)


def last_due(now: datetime, tz: ZoneInfo, weekday: str, at: str) -> datetime:
    """The latest configured weekday and time (``"HH:MM"``) at or before ``now``."""
    local = now.astimezone(tz)
    hh, mm = (int(x) for x in at.split(":"))
    monday = Week.of(local.date()).monday
    due = datetime.combine(monday + timedelta(days=DAYS.index(weekday)), time(hh, mm), tz)
    return due if due <= local else due - timedelta(days=7)


def week_for(due: datetime, tz: ZoneInfo) -> Week:
    """The week a summary due at ``due`` covers (module rules)."""
    return Week.of(due.astimezone(tz).date()).previous


def in_grace(now: datetime, due: datetime, grace: timedelta) -> bool:
    return timedelta(0) <= now - due <= grace
