"""A controllable clock for tests (no real sleeps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Wednesday 2026-11-18 10:00 in Asia/Shanghai
DEFAULT_START = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._now = start
        self._mono = 1000.0  # its own origin: not derived from the wall time

    def now(self) -> datetime:
        return self._now

    def time(self) -> float:
        return self._now.timestamp()

    def monotonic(self) -> float:
        return self._mono

    def advance(self, delta: float | timedelta) -> None:
        """Time passes: wall and monotonic clock move together."""
        d = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        self._now += d
        self._mono += max(0.0, d.total_seconds())

    def set(self, at: datetime) -> None:
        """Jump the wall clock; a jump forward also lets that much monotonic time pass."""
        self._mono += max(0.0, (at - self._now).total_seconds())
        self._now = at

    def step_wall(self, delta: float | timedelta) -> None:
        """Step only the wall clock (NTP, an operator); monotonic time does not move."""
        self._now += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
