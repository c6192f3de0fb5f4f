"""Welcoming newcomers: burst merging, once per 24 h, raids, goodbye, capacity, platforms."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select

from bot.events import Scheduled
from handlers.welcome import flush_due
from storage.models_moderation import PendingGreeting
from tests.harness import BASE, Harness

MakeHarness = Callable[..., Awaitable[Harness]]


async def flush(h: Harness) -> list[str]:
    """What a flush tick at the current (fake) time makes the bot say."""
    h.new_lines()
    await flush_due(h.bot)
    await h.bot.drain()
    return h.new_lines()


async def test_three_joins_in_the_window_get_one_greeting(make_harness: MakeHarness) -> None:
    h = await make_harness()
    assert await h.join("ann", name="安安") == []  # nobody is greeted from the join itself
    await h.advance(seconds=3)
    await h.join("bo", name="波波", inviter="ann")
    await h.advance(seconds=3)
    await h.join("cy", name="小西")
    assert await flush(h) == []  # the burst is still going
    await h.advance(seconds=11)
    said = await flush(h)
    assert len(said) == 1
    assert said[0].startswith("[g1] 🤖 @ann @bo @cy 🎉 欢迎 安安、波波、小西 加入测试群")
    assert "感谢 安安 的邀请" in said[0] and "第 3 位" in said[0] and "友善交流" in said[0]
    assert await flush(h) == []  # greeted once
    await h.advance(seconds=5)
    assert await flush_due(h.bot) is False  # nothing pending: no inbox event at all


async def test_the_same_flush_twice_greets_once(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await h.join("ann")
    h.clock.advance(11)

    def tick() -> Scheduled:
        return Scheduled(
            dedup_key=uuid.uuid4().hex,
            platform="internal",
            group_id=None,
            occurred_at=h.clock.now(),
            job="welcome.flush",
        )

    await h.bot.inbox.submit(tick())
    await h.bot.inbox.submit(tick())
    await h.bot.drain()
    assert len([line for line in h.new_lines() if "欢迎" in line]) == 1


async def test_a_steady_trickle_is_greeted_after_max_wait(make_harness: MakeHarness) -> None:
    h = await make_harness({"welcome": {"max_wait_s": 30}})
    said: list[str] = []
    for i in range(6):
        await h.join(f"u{i}")
        await h.advance(seconds=8)
        said += await flush(h)
    assert len(said) == 1 and "u0、u1、u2、u3" in said[0]


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


async def test_who_left_before_the_greeting_is_not_greeted(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await h.join("ann")
    await h.join("hit_and_run")
    await h.leave("hit_and_run")
    await h.advance(seconds=11)
    said = await flush(h)
    assert len(said) == 1 and "ann" in said[0] and "hit_and_run" not in said[0]


async def test_raid_gets_a_summary_and_an_alert(make_harness: MakeHarness) -> None:
    h = await make_harness({"welcome": {"raid_joins": 3}})
    for i in range(5):
        await h.join(f"bot{i}")
        await h.advance(seconds=2)
    await h.advance(seconds=11)
    said = await flush(h)
    assert [x for x in said if x.startswith("[g1]")] == [
        "[g1] 🤖 🚨 5 人在 60 秒内加入本群，已暂停欢迎，请勿点击陌生链接，管理员会尽快处理。"
    ]
    alert = [x for x in said if x.startswith("[私聊 gadmin]")]
    assert len(alert) == 1 and "疑似被刷群" in alert[0] and "bot4" in alert[0]
    assert not any("🎉 欢迎" in line for line in said)
    assert await flush(h) == []


async def test_slow_joins_are_no_raid(make_harness: MakeHarness) -> None:
    h = await make_harness({"welcome": {"raid_joins": 3, "raid_window_s": 10, "window_s": 10}})
    for i in range(5):
        await h.join(f"u{i}")
        await h.advance(seconds=4)  # 4 joins never fall within 10 s
    await h.advance(seconds=11)
    said = await flush(h)
    assert len(said) == 1 and "🎉" in said[0]


async def test_goodbye_and_capacity(make_harness: MakeHarness) -> None:
    h = await make_harness({"welcome": {"goodbye": True, "capacity": 2, "near_capacity": 2}})
    await h.join("ann")
    await h.join("bo")
    await h.advance(seconds=11)
    said = await flush(h)
    assert any("本群人数已满（2/2）" in line and "「二群」" in line for line in said)
    near = [line for line in said if "上限 2" in line]
    assert [x.split(" 🤖")[0] for x in near] == ["[私聊 gadmin]", "[私聊 root]"]
    await h.join("cy")
    await h.advance(seconds=11)
    said = await flush(h)
    assert any("二群" in line for line in said) and not any("上限 2" in x for x in said)
    assert any("离开了测试群" in line for line in await h.leave("bo"))
    assert await h.leave("cy", kicked=True) == []  # no goodbye to a removed member


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


async def test_wecom_groups_get_markdown_mentions(make_harness: MakeHarness) -> None:
    groups = [*BASE["groups"], {"id": "wx1", "platform": "wecom", "name": "企微群"}]
    h = await make_harness({"groups": groups})
    await h.join("wm_a", group="wx1", name="阿甲")
    await h.advance(seconds=11)
    said = await flush(h)
    assert said and said[0].startswith("[wx1] 🤖 🎉 欢迎 <@wm_a> 加入企微群")
    async with h.bot.db.read() as s:
        open_ = await s.scalar(
            select(func.count()).select_from(PendingGreeting).where(PendingGreeting.done.is_(False))
        )
    assert open_ == 0


async def test_the_flush_job_is_scheduled(make_harness: MakeHarness) -> None:
    h = await make_harness()
    job = h.bot.jobs.get("welcome-flush")
    assert job is not None and job.every_s == 5
