"""Pacing per target: at most N sends in any 60-second window.

WeCom counts every webhook call (successful or not) against a robot key's 20/min, so every
attempt takes a slot. The window is seeded on start from the outbox's recorded attempts, so a
restart does not reset it.

Times here are monotonic seconds (``Clock.monotonic``), so a wall-clock step neither frees
nor blocks a key; recorded wall times are re-based to the monotonic clock when seeded.
"""

from __future__ import annotations

from collections import deque


class SlidingWindow:
    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}

    def reserve(self, key: str, now: float) -> float:
        """Take a slot now and return 0, or return the seconds until a slot frees up."""
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return hits[0] + self.window_s - now
        hits.append(now)
        return 0.0

    def forget(self, key: str) -> None:
        """Drop what this process remembers for ``key`` (before loading the shared record)."""
        self._hits.pop(key, None)

    def seed(self, key: str, times: list[float]) -> None:
        """Remember attempts made before a restart (monotonic times, see ``rebase``)."""
        hits = self._hits.setdefault(key, deque())
        for t in sorted(times):
            hits.append(t)
        while len(hits) > self.limit:
            hits.popleft()


def rebase(walls: list[float], wall_now: float, mono_now: float) -> list[float]:
    """Recorded wall times as monotonic times: each keeps its age, an age the wall clock makes
    negative (it stepped back since) counts as 0, so a slot is held at most one window."""
    return [mono_now - max(0.0, wall_now - t) for t in walls]
