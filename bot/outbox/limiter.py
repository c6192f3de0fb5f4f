"""Pacing per target: at most N sends in any 60-second window.

WeCom counts every webhook call (successful or not) against a robot key's 20/min, so every
attempt takes a slot. The window is seeded on start from the outbox's recorded attempts, so a
restart does not reset it.
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
        """Remember attempts made before a restart."""
        hits = self._hits.setdefault(key, deque())
        for t in sorted(times):
            hits.append(t)
        while len(hits) > self.limit:
            hits.popleft()
