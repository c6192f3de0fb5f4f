"""``/admin/``: every group's figures in a fixed number of statements, equal to the per-group
series the group page and the API show."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import event

from bot.web.app import create_app
from handlers.stats.daily import daily_series, today_of
from storage.models import Group, GroupSetting, Member
from storage.models_stats import StatsActivity, StatsDaily
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
TOKEN = "overview-token"
FIELDS = ("members", "joins", "leaves", "messages", "active_members", "checkins")


async def seed(h: Harness, first: int, n: int) -> None:
    """Groups ``x{first}``… met on the wire 90 days ago, with counters, snapshots and members
    (the bot's first start is moved back with them: the history lies within its life)."""
    now = h.clock.now()
    today = today_of(h.bot.config, "x0", now)
    long_ago = now - timedelta(days=90)
    async with h.bot.db.transaction() as s:
        marker = await s.get(GroupSetting, ("*", "bot.first_start"))
        assert marker is not None
        marker.value = min(datetime.fromisoformat(marker.value), long_ago).isoformat()
        for i in range(first, first + n):
            gid = f"x{i}"
            s.add(Group(id=gid, platform="onebot", name=gid, created_at=long_ago))
            for u in range(i % 4 + 1):
                s.add(Member(group_id=gid, user_id=f"u{u}", first_seen_at=now, in_group=u != 0))
            # a snapshot long before the 30 days, changes inside them, activity
            s.add(StatsDaily(group_id=gid, day=today - timedelta(days=60), members=i % 7))
            for back in (20, 6, 1, 0):
                day = today - timedelta(days=back)
                members = (i + back) % 5 if back % 2 == 0 else None
                s.add(
                    StatsDaily(
                        group_id=gid,
                        day=day,
                        joins=back % 3,
                        leaves=i % 2,
                        messages=back + i,
                        members=members,
                    )
                )
                s.add(StatsActivity(group_id=gid, day=day, user_id="u1", messages=1, last_at=now))


async def test_the_bulk_figures_equal_each_groups_series(make_harness: MakeHarness) -> None:
    from handlers.stats.overview_data import overview_series  # here: the next test runs anywhere

    h = await make_harness()
    await h.join("amy")
    await h.say("amy", "/签到")
    await h.advance(days=1)
    await h.say("amy", "/签到")
    await h.say("bob", "hello", group="g2")
    await seed(h, 0, 12)
    now = h.clock.now()
    async with h.bot.db.read() as s:
        gids = ["g1", "g2", *(f"x{i}" for i in range(12))]
        bulk = await overview_series(s, h.bot.config, gids, 30, now)
        for gid in gids:
            one = await daily_series(s, h.bot.config, gid, 30, now)
            want = [(d.date, *(getattr(d, f) for f in FIELDS)) for d in one]
            got = [(d.date, *(getattr(d, f) for f in FIELDS)) for d in bulk[gid]]
            assert got == want, gid
    assert any(d.checkins for d in bulk["g1"]) and any(d.members for d in bulk["x3"])


async def test_the_overview_costs_the_same_statements_for_any_number_of_groups(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    h = await make_harness({"bot": {"api_token": TOKEN}})
    client = await aiohttp_client(create_app(h.bot, manage=False))
    engine = h.bot.db.engine.sync_engine
    counts = []
    for first, n in ((0, 5), (5, 45)):
        await seed(h, first, n)
        seen: list[str] = []

        def count(_c: Any, _u: Any, statement: str, *_: Any, seen: list[str] = seen) -> None:
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            r = await client.get("/admin/", headers={"Authorization": f"Bearer {TOKEN}"})
            assert r.status == 200 and 'data-field="groups"' in await r.text()
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts.append(len(seen))
    assert counts[0] == counts[1], counts  # 7 and 52 groups alike
