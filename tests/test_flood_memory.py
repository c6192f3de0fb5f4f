"""The flood check's memory follows the members active right now (found by bench_soak)."""

from __future__ import annotations

from handlers.rules.logic import FloodTracker


def test_quiet_members_are_forgotten_and_verdicts_unchanged() -> None:
    t = FloodTracker(messages=3, seconds=10, repeats=3)
    for i in range(1000):
        assert t.record("g1", f"u{i}", "hi", at=float(i % 5)) is None
    assert len(t._seen) == 1000  # all heard within the window
    assert t.record("g1", "late", "hi", at=20.0) is None
    assert list(t._seen) == [("g1", "late")]  # nobody else can count any more
    hits = [t.record("g1", "spam", f"m{i}", at=21.0 + i) for i in range(4)]
    assert hits[:3] == [None, None, None] and hits[3] is not None and hits[3].kind == "rate"
