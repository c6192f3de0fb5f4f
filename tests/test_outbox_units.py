"""Outbox pieces without I/O: UTF-8-safe splitting and the sliding pacing window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.outbox.limiter import SlidingWindow
from bot.outbox.queue import split_utf8


def test_short_text_is_one_piece() -> None:
    assert split_utf8("你好", 2048) == ["你好"]


def test_split_at_line_ends_within_byte_limit() -> None:
    text = "\n".join(f"第{i}行：" + "签到" * 20 for i in range(100))
    parts = split_utf8(text, 2048)
    assert len(parts) > 1
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "\n".join(parts) == text


def test_one_huge_line_is_cut_between_characters() -> None:
    text = "福" * 3000  # 9000 bytes
    parts = split_utf8(text, 2048)
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "".join(parts) == text


@given(st.text(min_size=1, max_size=3000), st.integers(min_value=8, max_value=600))
def test_split_never_breaks_characters_or_exceeds(text: str, limit: int) -> None:
    parts = split_utf8(text, limit)
    assert all(len(p.encode()) <= limit for p in parts)
    joined = "".join(parts)
    assert set(joined) <= set(text)


def test_window_allows_limit_then_waits() -> None:
    w = SlidingWindow(20, 60)
    assert all(w.reserve("k", 100.0 + i) == 0 for i in range(20))
    wait = w.reserve("k", 125.0)
    assert wait == 100.0 + 60 - 125.0
    assert w.reserve("k", 160.0) == 0  # the first slot expired
    assert w.reserve("other", 125.0) == 0  # keys are independent


def test_window_seeded_after_restart() -> None:
    w = SlidingWindow(3, 60)
    w.seed("k", [10.0, 11.0, 12.0])
    assert w.reserve("k", 30.0) > 0
    assert w.reserve("k", 71.0) == 0
