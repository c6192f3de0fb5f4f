"""Welcoming newcomers: burst merging, once per 24 h, raids, goodbye, capacity."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from bot.events import Scheduled
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]


async def flush(h: Harness) -> list[str]:
    ev = Scheduled(
        dedup_key=uuid.uuid4().hex,
        platform="internal",
        group_id=None,
        occurred_at=h.clock.now(),
        job="welcome.flush",
    )
    return await h.feed(ev)


async def test_three_joins_in_the_window_get_one_greeting(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await h.join("ann", name="安安")
    await h.advance(seconds=3)
    await h.join("bo", name="波波", inviter="ann")
    await h.advance(seconds=3)
    await h.join("cy", name="小西")
    assert await flush(h) == []  # the burst is still going
    await h.advance(seconds=11)
    said = await flush(h)
    assert len(said) == 1
    assert all(n in said[0] for n in ("安安", "波波", "小西", "感谢 ann 的邀请", "第 3 位"))
    assert "@ann @bo @cy" in said[0]
    assert await flush(h) == []  # greeted once


async def test_rejoin_within_a_day_is_not_greeted_again(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await h.join("ann")
    await h.advance(seconds=11)
    assert len(await flush(h)) == 1
    await h.leave("ann")
    await h.join("ann")
    await h.advance(seconds=11)
    assert await flush(h) == []
    await h.leave("ann")
    await h.advance(hours=25)
    await h.join("ann")
    await h.advance(seconds=11)
    assert len(await flush(h)) == 1


async def test_raid_gets_a_summary_and_an_alert(make_harness: MakeHarness) -> None:
    h = await make_harness({"welcome": {"raid_joins": 3}})
    for i in range(5):
        await h.join(f"bot{i}")
    await h.advance(seconds=11)
    said = await flush(h)
    assert any(line.startswith("[g1]") and "5 人在短时间内加入" in line for line in said)
    assert any(line.startswith("[私聊 gadmin]") for line in said)
    assert not any("🎉 欢迎" in line for line in said)


async def test_goodbye_and_capacity(make_harness: MakeHarness) -> None:
    h = await make_harness({"welcome": {"goodbye": True, "capacity": 2, "near_capacity": 2}})
    await h.join("ann")
    await h.join("bo")
    await h.advance(seconds=11)
    said = await flush(h)
    assert any("本群人数已满（2/2）" in line and "二群" in line for line in said)
    assert any("接近上限" in line for line in said)
    assert any("离开了" in line for line in await h.leave("bo"))


async def test_greeting_template_override(make_harness: MakeHarness) -> None:
    h = await make_harness(
        {
            "groups": [
                {"id": "g1", "templates": {"welcome.greet": "Hi {name}, 第{count}位"}},
                {"id": "g2"},
            ]
        }
    )
    await h.join("ann", name="Ann")
    await h.advance(seconds=11)
    assert (await flush(h))[0].endswith("Hi Ann, 第1位")
