"""Time: one injectable clock so tests can move the day without sleeping.

``now``/``time`` are the wall clock (what is stored and shown); it may step backward or
forward (NTP, an operator). ``monotonic`` never steps: timers, backoffs and rate windows
inside a process are measured on it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def time(self) -> float: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()
