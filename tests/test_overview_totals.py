"""The overview's totals: each date's figures over all groups equal the sum of every group's own
series; ended dates are kept by the totals job and read back, the dates still going are
computed live; a timezone behind keeps its date open."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import delete, event, select, update

from bot.web.app import create_app
from handlers.stats.daily import daily_series
from handlers.stats.reports import known_group_ids
from handlers.stats.totals import (
    FIGURES,
    DayTotals,
    first_open_day,
    keep_totals,
    last_day,
    totals_on,
)
from storage import metadata
from storage.models import Group, Member
from storage.models_checkin import Checkin
from storage.models_stats import StatsDaily, StatsTotals
from tests.harness import Harness
from tests.test_overview_bulk import seed
from tests.test_retention_plans import _plan

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
TOKEN = "totals-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OVERVIEW_INDEXES = (
    "ix_stats_daily_counts",
    "ix_stats_daily_spoke",
    "ix_stats_daily_day",
    "ix_stats_activity_day",
    "ix_checkins_day",
)


async def _odd_groups(h: Harness) -> None:
    """Cases the member count works back for, and check-ins that are not speech."""
    now = h.clock.now()
    today = last_day(h.bot.config, now)
    async with h.bot.db.transaction() as s:
        # never a count written: worked back from today's live count (3 in the group)
        s.add(Group(id="nocount", platform="onebot", name="", created_at=now))
        for u in range(4):
            s.add(Member(group_id="nocount", user_id=f"n{u}", first_seen_at=now, in_group=u < 3))
        s.add(StatsDaily(group_id="nocount", day=today - timedelta(days=3), joins=2, leaves=0))
        # more joins than the first count written: never below zero
        s.add(Group(id="clamp", platform="onebot", name="", created_at=now))
        s.add(StatsDaily(group_id="clamp", day=today - timedelta(days=9), joins=5, members=1))
        s.add(StatsDaily(group_id="clamp", day=today - timedelta(days=4), joins=1, members=2))
        # a check-in by a member who did not speak, a make-up one and a voided one (in g1 on
        # its first day: the bot met g2 only today)
        for user, makeup, void in (("quiet", False, False), ("late", True, False), ("gone", 0, 1)):
            s.add(
                Checkin(
                    group_id="g1",
                    user_id=user,
                    day=today - timedelta(days=1),
                    at=now,
                    makeup=bool(makeup),
                    void=bool(void),
                )
            )


async def _reference(h: Harness) -> dict[date, DayTotals]:
    """Every known group's own 30-day series, added up by date."""
    now = h.clock.now()
    out: dict[date, DayTotals] = {}
    async with h.bot.db.read() as s:
        for gid in await known_group_ids(s, h.bot.config):
            for d in await daily_series(s, h.bot.config, gid, 30, now):
                day = date.fromisoformat(d.date)
                t = out.setdefault(day, DayTotals(day))
                for f in FIGURES:
                    setattr(t, f, getattr(t, f) + getattr(d, f))
    return out


async def test_a_dates_totals_are_the_sum_of_every_groups_series(
    make_harness: MakeHarness,
) -> None:
    h = await make_harness()
    await h.join("amy")
    await h.say("amy", "/签到")
    await h.advance(days=1)
    await h.say("amy", "/签到")
    await h.say("bob", "hello", group="g2")
    await h.join("cy", group="g2")
    await h.leave("amy")
    await seed(h, 0, 9)
    await _odd_groups(h)
    want = await _reference(h)
    assert len(want) == 30
    assert any(t.checkins for t in want.values()) and any(t.joins for t in want.values())
    async with h.bot.db.read() as s:
        got = {day: await totals_on(s, h.bot.config, day) for day in want}
    assert got == want


async def _kept(h: Harness) -> dict[date, DayTotals]:
    async with h.bot.db.read() as s:
        rows = await s.scalars(select(StatsTotals))
        return {r.day: DayTotals(r.day, *(getattr(r, f) for f in FIGURES)) for r in rows}


async def test_ended_dates_are_kept_and_renewed_when_due(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await seed(h, 0, 4)
    today = last_day(h.bot.config, h.clock.now())
    assert first_open_day(h.bot.config, h.clock.now()) == today
    assert await keep_totals(h.bot) == 31
    kept = await _kept(h)
    assert sorted(kept) == [today - timedelta(days=i) for i in range(31, 0, -1)]
    async with h.bot.db.read() as s:
        assert kept == {d: await totals_on(s, h.bot.config, d) for d in kept}
    assert await keep_totals(h.bot) == 0  # nothing is due a moment later
    h.clock.advance(timedelta(hours=1))
    assert await keep_totals(h.bot) == 2  # the two dates that ended last: hourly
    h.clock.advance(timedelta(days=1))
    assert await keep_totals(h.bot) == 31  # a new ended date; the others a day old
    assert max(await _kept(h)) == today


async def test_the_page_reads_kept_dates_and_computes_today(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    h = await make_harness({"bot": {"api_token": TOKEN}})
    await seed(h, 0, 3)
    client = await aiohttp_client(create_app(h.bot, manage=False))
    today = last_day(h.bot.config, h.clock.now())
    yesterday = (today - timedelta(days=1)).isoformat()
    live = await (await client.get("/admin/", headers=AUTH)).text()  # nothing kept yet
    await keep_totals(h.bot)
    async with h.bot.db.transaction() as s:
        await s.execute(
            update(StatsTotals)
            .where(StatsTotals.day == today - timedelta(days=1))
            .values(members=424242)
        )
    html = await (await client.get("/admin/", headers=AUTH)).text()
    point = 'data-series="members" data-date="{}" data-value="{}"'
    assert point.format(yesterday, 424242) in html  # the kept figure is what is shown
    assert point.format(yesterday, 424242) not in live
    await h.join("newcomer")  # today is live
    async with h.bot.db.read() as s:
        now_total = (await totals_on(s, h.bot.config, today)).members
    html = await (await client.get("/admin/", headers=AUTH)).text()
    assert f'data-field="members" data-value="{now_total}"' in html
    assert point.format(today.isoformat(), now_total) in html
    async with h.bot.db.transaction() as s:
        await s.execute(delete(StatsTotals))  # nothing kept: every date live, same page
    again = await (await client.get("/admin/", headers=AUTH)).text()
    assert point.format(yesterday, 424242) not in again
    assert f'data-field="members" data-value="{now_total}"' in again


async def test_a_timezone_behind_keeps_yesterday_open(make_harness: MakeHarness) -> None:
    # 10:00 in Shanghai is 18:00 of the day before in Los Angeles
    h = await make_harness(
        {"groups": [{"id": "la", "platform": "console", "timezone": "America/Los_Angeles"}]}
    )
    now = h.clock.now()
    today = last_day(h.bot.config, now)
    assert first_open_day(h.bot.config, now) == today - timedelta(days=1)
    await keep_totals(h.bot)
    assert max(await _kept(h)) == today - timedelta(days=2)


async def test_the_page_reads_no_table_whole(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    """Every statement of ``/admin/`` goes through an index (the groups only through their
    primary key); on SQLite the overview's own indexes are the ones used."""
    h = await make_harness({"bot": {"api_token": TOKEN}})
    await seed(h, 0, 3)
    await keep_totals(h.bot)
    client = await aiohttp_client(create_app(h.bot, manage=False))
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    engine = h.bot.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert (await client.get("/admin/", headers=AUTH)).status == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    plans = []
    async with h.bot.db.engine.connect() as conn:
        for statement, params in seen:
            plan = await conn.run_sync(_plan, statement, params)
            whole = [
                line
                for line in plan.splitlines()
                if "Seq Scan" in line
                or ((m := re.search(r"\bSCAN (\w+)$", line.strip())) and m[1] in metadata.tables)
            ]
            assert not whole, f"{statement}\n{plan}"
            plans.append(plan)
    if h.bot.db.dialect == "sqlite":
        used = "\n".join(plans)
        for index in OVERVIEW_INDEXES:
            assert index in used, index
