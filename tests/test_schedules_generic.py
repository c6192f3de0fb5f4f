"""``schedules/`` is generic scheduling: pure time arithmetic that knows no feature."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schedules.window import Ticker, Verdict, verdict

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 18, 1, 59, tzinfo=UTC)
W, GRACE = timedelta(seconds=150), timedelta(minutes=30)


def test_schedules_imports_no_feature_and_no_feature_table() -> None:
    for path in (ROOT / "schedules").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("handlers", "storage")), f"{path.name}: {name}"


def test_a_tick_reaches_back_to_the_last_one_within_the_lookback() -> None:
    t = Ticker(W, timedelta(days=1))
    assert t.span(T0)[0] == T0 - W  # the first tick: one window
    later = T0 + timedelta(hours=3)  # a forward jump
    assert t.span(later)[0] == T0
    assert t.span(later + timedelta(seconds=30))[0] == later + timedelta(seconds=30) - W
    t.caught_up(T0 + timedelta(days=3))
    far = T0 + timedelta(days=9)
    assert t.span(far)[0] == far - timedelta(days=1)  # never more than the lookback


def test_verdict_by_age() -> None:
    at = T0
    assert verdict(at, at + timedelta(seconds=10), GRACE, W) is Verdict.ON_TIME
    assert verdict(at, at + timedelta(minutes=20), GRACE, W) is Verdict.LATE
    assert verdict(at, at + timedelta(hours=3), GRACE, W) is Verdict.MISSED
