"""A controllable clock for tests (no real sleeps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Wednesday 2026-11-18 10:00 in Asia/Shanghai
DEFAULT_START = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def time(self) -> float:
        return self._now.timestamp()

    def advance(self, delta: float | timedelta) -> None:
        self._now += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)

    def set(self, at: datetime) -> None:
        self._now = at
