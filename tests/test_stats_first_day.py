"""Daily statistics start on the first day the bot saw the group (a group never seen: the day of
the bot's first start). Days before are absent from the stats API, its CSV, the group page and
the overview — never zero-filled with a member count worked back from later ones."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from bot.adapters.onebot import sign
from bot.web.app import create_app
from tests.fakes.clock import FakeClock
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness
from tests.reliability.serve import group_message, join_notice
from tests.test_programme import WED_10

SECRET = "first-day-secret"
AUTH = {"Authorization": "Bearer test-api-token"}
SEEN, QUIET = "91001", "91002"  # SEEN's first event comes two days after the bot's start


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> tuple[Harness, TestClient]:
    h = await make_harness(
        {
            "onebot": {"secret": SECRET, "api_url": bridge.url, "access_token": "bridge-token"},
            "groups": [
                {"id": gid, "platform": "onebot", "name": f"群{gid}"} for gid in (SEEN, QUIET)
            ],
        },
        clock=FakeClock(WED_10),  # the bot's first start: Wednesday 2026-11-18
    )
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def post(client: TestClient, body: bytes) -> None:
    headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
    assert (await client.post("/onebot", data=body, headers=headers)).status == 204


def at_now(h: Harness, body: bytes) -> bytes:
    """The OneBot event as happening now on the harness clock."""
    event = json.loads(body)
    event["time"] = int(h.clock.now().timestamp())
    return json.dumps(event, ensure_ascii=False).encode()


async def test_days_before_the_bot_saw_the_group_are_absent(
    setup: tuple[Harness, TestClient],
) -> None:
    h, client = setup
    await h.advance(days=2)  # Friday the 20th: the bot meets SEEN for the first time
    for uid in range(600, 605):
        await post(client, at_now(h, group_message(int(SEEN), uid, uid, "大家好")))
    await post(client, at_now(h, join_notice(int(SEEN), 700, 1)))
    await h.advance(seconds=1)
    await h.advance(days=1)  # Saturday

    r = await client.get(f"/api/groups/{SEEN}/stats?days=30", headers=AUTH)
    days = (await r.json())["days"]
    assert [d["date"] for d in days] == ["2026-11-20", "2026-11-21"]
    assert [d["members"] for d in days] == [6, 6]
    r = await client.get(f"/api/groups/{SEEN}/stats?days=30&format=csv", headers=AUTH)
    rows = (await r.text()).lstrip("\ufeff").splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == ["2026-11-20", "2026-11-21"]

    # a group never seen starts on the day of the bot's first start, with nothing in it
    r = await client.get(f"/api/groups/{QUIET}/stats?days=30", headers=AUTH)
    quiet = (await r.json())["days"]
    assert quiet[0]["date"] == "2026-11-18" and len(quiet) == 4
    assert {d["members"] for d in quiet} == {0}

    # asking for fewer days than the group has still gives that many
    r = await client.get(f"/api/groups/{SEEN}/stats?days=1", headers=AUTH)
    assert [d["date"] for d in (await r.json())["days"]] == ["2026-11-21"]

    # the group page (charts and day table) and the overview (charts, sparklines): no point
    # for a day before the bot saw the group, or before its first start
    page = await (await client.get(f"/admin/groups/{SEEN}", headers=AUTH)).text()
    assert set(re.findall(r'data-date="([0-9-]+)"', page)) == {"2026-11-20", "2026-11-21"}
    overview = await (await client.get("/admin/", headers=AUTH)).text()
    drawn = set(re.findall(r'data-date="([0-9-]+)"', overview))
    assert min(drawn) == "2026-11-18" and max(drawn) == "2026-11-21", sorted(drawn)
