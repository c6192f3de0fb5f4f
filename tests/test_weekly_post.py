"""The weekly summary is posted once, at the configured time, through the OneBot bridge: with
the right week-over-week figures for a seeded two-week history, never twice across ticks, a
redelivered event, a restart, a second instance or a wall clock stepped back; a summary missed
while the bot was down is posted on the next start within the grace window, and not after;
the alert group gets it too when asked, once when it is also the admin group."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import delete, select

from bot.events import Scheduled
from bot.runtime import Bot
from handlers.weekly.posting import POST_JOB, tick
from storage.models import InboxEvent, OutboxMessage
from storage.models_weekly import WeeklyPost
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness, make_config
from tests.weeklykit import ADMIN_GROUP, config, local, seed

Make = Callable[..., Awaitable[Harness]]

# W48 against W47, by hand from the story in tests/weeklykit.py
TOTAL = [
    "【全部群】4 个群",
    "成员 6（+2）｜净增 +2（-2）",
    "入群 4（-1）｜退群 2（+1）｜退群率 25.0%（+5.0个百分点）",
    "活跃率 83.3%（+8.3个百分点）｜签到率 50.0%（+25.0个百分点）",
    "有效邀请 1（+1）｜发送失败 0（±0）",
]
MAMA = [
    "【宝妈】2 个群",
    "成员 6（+3）｜净增 +3（±0）",
    "入群 4（±0）｜退群 1（±0）｜退群率 14.3%（-10.7个百分点）",
    "活跃率 83.3%（-16.7个百分点）｜签到率 50.0%（+16.7个百分点）",
]
VIP = ["【VIP】1 个群", "成员 2（+1）｜净增 +1（±0）"]
RANKS = [
    "🏆 活跃率最高：\n1. 宝妈VIP 100.0%（±0）",
    "⚠️ 活跃率最低：\n1. 宝妈一群 75.0%（-25.0个百分点）",
]


async def posted(bridge: FakeOneBot) -> list[str]:
    return bridge.sent_texts(ADMIN_GROUP)


async def test_posted_once_at_the_configured_time_with_the_changes(
    make_harness: Make, bridge: FakeOneBot
) -> None:
    h = await make_harness(config(bridge))
    await seed(h)
    h.clock.set(local(2026, 11, 30, 8, 59))
    await h.run_jobs()
    await h.bot.drain()
    assert await posted(bridge) == []  # not yet
    await h.advance(minutes=1)
    await h.run_jobs()
    texts = await posted(bridge)
    assert len(texts) == 1, texts
    text = texts[0]
    assert text.startswith("📊 社群周报 2026-W48（2026-11-23 ~ 2026-11-29，对比上周 2026-11-16")
    for line in [*TOTAL, *MAMA, *VIP, *RANKS]:
        assert line in text, line
    assert "控制台「周报」页，2026-W48" in text
    for _ in range(3):  # later ticks, the same hour and the next day
        await h.advance(minutes=30)
        await h.run_jobs()
    await h.advance(days=1)
    await h.run_jobs()
    assert len(await posted(bridge)) == 1
    async with h.bot.db.read() as s:
        row = await s.get(WeeklyPost, "2026-W48")
        keys = list(
            await s.scalars(
                select(OutboxMessage.idem_key).where(OutboxMessage.idem_key.like("weekly:%"))
            )
        )
    assert row is not None and row.targets == [ADMIN_GROUP]
    assert row.due_at == local(2026, 11, 30, 9)
    assert keys == [f"weekly:2026-W48:{ADMIN_GROUP}"]


async def test_redelivery_restart_and_a_second_instance_post_nothing_twice(
    make_harness: Make, bridge: FakeOneBot, tmp_path: Path
) -> None:
    h = await make_harness(config(bridge))
    await seed(h)
    h.clock.set(local(2026, 11, 30, 9, 5))
    await h.run_jobs()
    assert len(await posted(bridge)) == 1
    # the event again under another key (a redelivery): the week's claim is taken
    await h.feed(
        Scheduled(
            dedup_key="weekly:again",
            platform="internal",
            group_id=None,
            occurred_at=h.clock.now(),
            job=POST_JOB,
            data={"week": "2026-W48", "due_at": local(2026, 11, 30, 9).isoformat()},
        )
    )
    # the inbox forgot the event (pruned): the ledger still holds the week
    async with h.bot.db.transaction() as s:
        await s.execute(delete(InboxEvent).where(InboxEvent.dedup_key == "weekly:2026-W48"))
    await h.run_jobs()
    await h.bot.drain()
    # a restart (the job runs at start) and a second instance ticking at the same time
    again = Bot(
        make_config(tmp_path, config(bridge)),
        h.clock,
        workers=False,
        migrate=False,
        run_jobs=False,
    )
    await again.start()
    try:
        await tick(again)
        await tick(h.bot)
        await again.drain()
        await h.bot.drain()
    finally:
        await again.stop()
    assert len(await posted(bridge)) == 1


async def test_wall_clock_steps_post_no_week_twice_and_hold_none_back(
    make_harness: Make, bridge: FakeOneBot
) -> None:
    h = await make_harness(config(bridge))
    await seed(h)
    h.clock.set(local(2026, 11, 30, 9))
    await h.run_jobs()
    assert len(await posted(bridge)) == 1
    # stepped back an hour: 09:00 comes a second time
    h.clock.step_wall(-3600)
    for _ in range(4):
        h.clock.advance(1800)
        await h.run_jobs()
    assert len(await posted(bridge)) == 1
    # set two weeks ahead by mistake (W50 is posted, the clock is believed), then corrected
    h.clock.step_wall(local(2026, 12, 14, 9, 30) - h.clock.now())
    h.clock.advance(60)
    await h.run_jobs()
    h.clock.step_wall(local(2026, 12, 7, 8, 59) - h.clock.now())
    h.clock.advance(60)
    await h.run_jobs()  # Monday 09:00 of W50 (covering W49): not held back by W50's post
    texts = await posted(bridge)
    assert [t.split("（")[0] for t in texts] == [
        "📊 社群周报 2026-W48",
        "📊 社群周报 2026-W50",
        "📊 社群周报 2026-W49",
    ]
    async with h.bot.db.read() as s:
        weeks = sorted(await s.scalars(select(WeeklyPost.week)))
    assert weeks == ["2026-W48", "2026-W49", "2026-W50"]


async def test_a_missed_time_is_posted_on_the_next_start_within_the_grace(
    make_harness: Make, bridge: FakeOneBot, tmp_path: Path
) -> None:
    h = await make_harness(config(bridge))
    await seed(h)
    await h.bot.stop()  # down over Monday 09:00
    h.clock.set(local(2026, 11, 30, 20))
    again = Bot(
        make_config(tmp_path, config(bridge)),
        h.clock,
        workers=False,
        migrate=False,
        run_jobs=False,
    )
    await again.start()  # the tick runs at start
    try:
        await again.drain()
        texts = await posted(bridge)
        assert len(texts) == 1 and "2026-W48" in texts[0]
        for line in TOTAL:
            assert line in texts[0]
    finally:
        await again.stop()


async def test_past_the_grace_nothing_is_posted(make_harness: Make, bridge: FakeOneBot) -> None:
    h = await make_harness(config(bridge, grace_hours=6))
    await seed(h)
    h.clock.set(local(2026, 11, 30, 15, 1))  # six hours and a minute late
    await h.run_jobs()
    assert await posted(bridge) == []
    async with h.bot.db.read() as s:
        assert list(await s.scalars(select(WeeklyPost.week))) == []


async def test_sunday_evening_posts_the_week_before(make_harness: Make, bridge: FakeOneBot) -> None:
    """A Sunday 20:00 summary covers the last full week (the current one has not ended)."""
    h = await make_harness(config(bridge, weekday="sun", time="20:00"))
    await seed(h)
    h.clock.set(local(2026, 11, 29, 20))
    await h.run_jobs()
    texts = await posted(bridge)
    assert len(texts) == 1 and texts[0].startswith("📊 社群周报 2026-W47（2026-11-16 ~ 2026-11-22")


async def test_the_alert_group_too_and_once_when_it_is_the_same(
    make_harness: Make, bridge: FakeOneBot
) -> None:
    h = await make_harness({**config(bridge, alerts=True), "bot": {"alert_group": "g3"}})
    await seed(h)
    h.clock.set(local(2026, 11, 30, 9))
    h.new_lines()
    said = await h.run_jobs()
    assert len(await posted(bridge)) == 1
    assert [line for line in said if line.startswith("[g3]") and "社群周报" in line]
    async with h.bot.db.read() as s:
        row = await s.get(WeeklyPost, "2026-W48")
    assert row is not None and row.targets == [ADMIN_GROUP, "g3"]


async def test_admin_group_that_is_the_alert_group_gets_one_post(
    make_harness: Make, bridge: FakeOneBot
) -> None:
    h = await make_harness({**config(bridge, alerts=True), "bot": {"alert_group": ADMIN_GROUP}})
    await seed(h)
    h.clock.set(local(2026, 11, 30, 9))
    await h.run_jobs()
    assert len(await posted(bridge)) == 1


async def test_a_long_summary_goes_in_several_posts_each_once(
    make_harness: Make, bridge: FakeOneBot
) -> None:
    """An operator's longer section template: the outbox's split makes several posts (OneBot:
    4500 bytes each), keyed ``weekly:{week}:{group}``, ``…#1`` …, each sent once."""
    section = "【{scope}】成员 {members}（{members_change}）\n" + "说明文字。" * 250
    h = await make_harness({**config(bridge), "templates": {"weekly.section": section}})
    await seed(h)
    h.clock.set(local(2026, 11, 30, 9))
    await h.run_jobs()
    await h.advance(minutes=5)
    await h.run_jobs()
    texts = await posted(bridge)
    assert len(texts) >= 3 and all(len(t.encode()) <= 4500 for t in texts)
    whole = "".join(texts)
    assert whole.startswith("📊 社群周报 2026-W48") and "【宝妈】成员 6（+3）" in whole
    async with h.bot.db.read() as s:
        keys = sorted(
            await s.scalars(
                select(OutboxMessage.idem_key).where(OutboxMessage.idem_key.like("weekly:%"))
            )
        )
    base = f"weekly:2026-W48:{ADMIN_GROUP}"
    assert keys == sorted([base] + [f"{base}#{i}" for i in range(1, len(texts))])
