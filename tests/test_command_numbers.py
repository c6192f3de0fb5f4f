"""Numeric chat-command arguments are bounded where commands are parsed (bot/commands.py).

Rules checked: a number too long, out of range, or not a plain number (superscripts, words)
gets the command's usage in Chinese — the event is processed once, never failed and retried;
full-width digits work like ASCII ones.
"""

from __future__ import annotations

import pytest

from bot.commands import MAX_NUMBER, number
from tests.harness import Harness

HUGE = "99999999999999999999999"


@pytest.mark.parametrize(
    ("word", "lo", "hi", "want"),
    [
        ("12", 1, 100, 12),
        ("+2", -1000, 1000, 2),
        ("-3", -1000, 1000, -3),
        ("１２", 1, 100, 12),
        ("#42", 1, MAX_NUMBER, 42),
        (HUGE, 1, MAX_NUMBER, None),
        ("101", 1, 100, None),
        ("²", 1, 100, None),
        ("1e3", 1, 10_000, None),
        ("", 1, 100, None),
        ("一", 1, 100, None),
        ("12345678901", 1, 10**12, None),  # more digits than any column takes
    ],
)
def test_number(word: str, lo: int, hi: int, want: int | None) -> None:
    assert number(word, lo, hi) == want


async def test_huge_or_odd_numbers_get_a_usage_reply(harness: Harness) -> None:
    h = harness
    cases = [
        ("gadmin", f"/撤销 {HUGE}", "g1", "没有记录"),
        ("gadmin", "/撤销 ²", "g1", "没有记录"),
        ("gadmin", f"/补签卡 @bob {HUGE}", "g1", "张数"),
        ("gadmin", "/补签卡 @bob ²", "g1", "张数"),
        ("gadmin", f"/调整邀请 @bob +{HUGE} 刷", "g1", "用法"),
        ("gadmin", "/调整邀请 @bob ² 刷", "g1", "用法"),
        ("root", f"/奖品 导入 {HUGE} CODE-X", None, "用法"),
        ("root", "/奖品 导入 ² CODE-X", None, "用法"),
    ]
    for user, text, group, want in cases:
        said = await h.say(user, text, group=group)
        assert len(said) == 1 and want in said[0], (text, said)
    assert h.bot.dispatcher.failed == 0
    assert await h.advance(minutes=10) == []  # nothing was left to retry
    assert "现有 3 张" in (await h.say("gadmin", "/补签卡 @bob ３"))[0]
