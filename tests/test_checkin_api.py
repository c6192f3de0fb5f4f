"""The member view and leaderboard API agree with what the chat replies say."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from bot.web.app import create_app
from tests.harness import Harness

AUTH = {"Authorization": "Bearer test-api-token"}


async def test_api_matches_chat(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await make_harness({"checkin": {"base_points": 10, "streak_bonus": {}}})
    client = await aiohttp_client(create_app(h.bot, manage=False))
    said = (await h.say("bob", "/签到", name="小波"))[0]
    await h.say("carol", "/签到")
    await h.advance(days=1)
    said2 = (await h.say("bob", "/签到", name="小波"))[0]
    m = re.search(r"累计 (\d+) 天.*?共 (\d+) 分", said2)
    assert m and "连续 2 天" in said2 and "签到成功" in said
    r = await client.get("/api/groups/g1/members/bob", headers=AUTH)
    view = await r.json()
    assert r.status == 200
    assert view["checkins"]["total"] == int(m.group(1)) == 2
    assert view["points"] == int(m.group(2))
    assert view["checkins"]["streak"] == 2 and view["name"] == "小波" and view["in_group"]
    assert view["invites"] == {"valid": 0, "pending": 0, "left": 0, "fake": 0}
    board = await (
        await client.get("/api/groups/g1/leaderboard?board=checkin", headers=AUTH)
    ).json()
    assert [(e["rank"], e["user_id"], e["value"]) for e in board["entries"]] == [
        (1, "bob", 2),
        (2, "carol", 1),
    ]
    chat_board = (await h.say("bob", "/签到榜 总榜", name="小波"))[0]
    assert chat_board.index("小波") < chat_board.index("carol")
    points = await (
        await client.get("/api/groups/g1/leaderboard?board=points", headers=AUTH)
    ).json()
    assert points["entries"][0]["value"] == view["points"]
    assert (await client.get("/api/groups/g1/members/nobody", headers=AUTH)).status == 404
    assert (await client.get("/api/groups/g1/leaderboard?board=x", headers=AUTH)).status == 400
    assert (await client.get("/api/groups/g1/leaderboard?limit=0", headers=AUTH)).status == 400
    assert (await client.get("/api/groups/g1/leaderboard")).status == 401
