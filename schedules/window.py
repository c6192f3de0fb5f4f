"""What a periodic tick answers for — pure time arithmetic, no clock and no database.

Rules:
- A tick covers everything since the previous tick (or since the start-up catch-up), and at
  least the last ``window`` so a late tick or an overlapping instance finds its occurrences;
  the unique keys downstream make overlapping windows harmless.
- Nothing between two ticks is lost: after a stall or a forward clock jump the span reaches
  back to the previous tick, bounded by ``lookback``.
- Each occurrence in the span is either posted (on time, or late within the grace period) or
  missed (older than the grace period): ``verdict`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

EPSILON = timedelta(microseconds=1)  # spans end just after "now": what is due now is due


class Verdict(Enum):
    ON_TIME = "on_time"
    LATE = "late"  # missed by more than a window, less than the grace period: post it now
    MISSED = "missed"  # missed by more than the grace period: record it as skipped


@dataclass
class Ticker:
    """The span each tick covers; remembers when the last one ran."""

    window: timedelta
    lookback: timedelta
    last: datetime | None = None

    def span(self, now: datetime) -> tuple[datetime, datetime]:
        """``[start, end)`` for a tick at ``now``; ``now`` becomes the last tick."""
        start = now - self.window
        if self.last is not None and self.last < start:
            start = max(self.last, now - self.lookback)
        self.last = now
        return start, now + EPSILON

    def caught_up(self, now: datetime) -> None:
        """A start-up catch-up answered for everything up to ``now``."""
        self.last = now


def verdict(at: datetime, now: datetime, grace: timedelta, window: timedelta) -> Verdict:
    if at < now - grace:
        return Verdict.MISSED
    return Verdict.LATE if at < now - window else Verdict.ON_TIME
