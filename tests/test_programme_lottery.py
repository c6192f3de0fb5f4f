"""The lottery slot: winners among the day's check-ins, reproducible from the published seed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from handlers.programme.ticks import tick
from schedules.lottery import draw, seed_for
from storage.models_programme import LotteryDraw
from tests.fakes.clock import FakeClock
from tests.harness import Harness

LOTTERY = {
    "programme": {
        "slots": [
            {
                "id": "draw",
                "days": ["wed"],
                "time": "20:00",
                "theme": "周三抽奖",
                "action": "lottery",
                "winners": 2,
                "content": "🎉 抽奖结果：{winners}（种子 {seed}，共 {candidates} 人参与）",
                "targets": ["g1"],
            }
        ]
    }
}


def test_draw_is_a_pure_function_of_seed_and_candidates() -> None:
    seed = seed_for("draw:g1:x", ["c", "a", "b"])
    assert seed == seed_for("draw:g1:x", ["a", "b", "c"])
    assert draw(seed, ["a", "b", "c"], 2) == draw(seed, ["c", "b", "a"], 2)
    assert len(set(draw(seed, ["a", "b", "c"], 5))) == 3


async def test_lottery_slot_draws_once_and_reproducibly(
    make_harness: Callable[..., Awaitable[Harness]],
) -> None:
    h = await make_harness(LOTTERY, clock=FakeClock(datetime(2026, 11, 18, 11, 0, tzinfo=UTC)))
    for user in ("ann", "ben", "cat", "dan"):
        await h.say(user, "/签到")
    h.clock.advance(timedelta(hours=1, seconds=2))  # Wednesday 20:00:02 in Shanghai
    for _ in range(2):
        await tick(h.bot)
        await h.bot.drain()
    posts = [line for line in h.lines if "抽奖结果" in line]
    assert len(posts) == 1 and "共 4 人参与" in posts[0]
    async with h.bot.db.read() as s:
        row = (await s.scalars(select(LotteryDraw))).one()
    assert row.candidates == ["ann", "ben", "cat", "dan"] and len(row.winners) == 2
    assert draw(row.seed, row.candidates, 2) == row.winners
    assert row.seed == seed_for(row.occurrence, row.candidates)
    assert all(w in posts[0] for w in row.winners) and row.seed[:16] in posts[0]
