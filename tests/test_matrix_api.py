"""``GET /api/matrix`` over real HTTP: each group's figures from what happened in it (joins,
leaves, speakers, check-ins, a programme post and who answered it, a valid invite, a dead
letter), rates worked out as documented, per-tag subtotals from summed counts, filter, sort,
paging and bad parameters."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from bot.events import Scheduled
from bot.web.app import create_app
from handlers.programme.ticks import tick
from storage.models import OutboxMessage
from tests.harness import Harness

AUTH = {"Authorization": "Bearer test-api-token"}
CONFIG = {
    "groups": [
        {"id": "g1", "platform": "console", "name": "宝妈一群", "tags": ["宝妈"]},
        {"id": "g2", "platform": "console", "name": "宝妈VIP", "tags": ["宝妈", "VIP"]},
        {"id": "g3", "platform": "console", "name": "闲聊群"},
    ],
    "referral": {"qualify_days": 0, "deduct_days": 7},
    "programme": {
        "slots": [
            {
                "id": "benefit",
                "days": ["wed"],
                "time": "10:30",
                "theme": "福利日",
                "content": "会员福利日开始啦",
                "targets": ["g1"],
            }
        ]
    },
}
Setup = tuple[Harness, TestClient]


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> Setup:
    h = await make_harness(CONFIG)
    for u in ("a", "b", "c"):
        await h.join(u, group="g1")
    await h.leave("c", group="g1")
    await h.say("a", "大家好", group="g1")
    await h.say("b", "/签到", group="g1")
    await h.advance(minutes=31)
    await tick(h.bot)  # the 10:30 post in g1
    await h.bot.drain()
    await h.advance(minutes=5)
    await h.say("a", "来了", group="g1")  # answered the post
    await h.join("x", group="g2")
    await h.join("y", group="g2", inviter="x")
    await h.say("x", "早", group="g2")
    await h.feed(
        Scheduled(
            dedup_key=f"settle-{uuid.uuid4().hex}",
            platform="internal",
            group_id=None,
            occurred_at=h.clock.now(),
            job="referral.settle",
        )
    )
    await h.join("z", group="g3")
    client = await aiohttp_client(create_app(h.bot, manage=False))
    r = await client.post("/api/groups/g2/messages", json={"text": "通知"}, headers=AUTH)
    assert r.status == 202
    async with h.bot.db.transaction() as s:  # that message ended dead
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == (await r.json())["id"])
            .values(status="dead")
        )
    return h, client


async def get(client: TestClient, query: str = "", status: int = 200) -> Any:
    r = await client.get("/api/matrix" + query, headers=AUTH)
    assert r.status == status, await r.text()
    return await r.json()


async def test_each_groups_figures(setup: Setup) -> None:
    _, client = setup
    body = await get(client, "?days=7")
    rows = {g["id"]: g for g in body["groups"]}
    assert [g["id"] for g in body["groups"]] == ["g1", "g2", "g3"]
    assert rows["g1"] == {
        "id": "g1",
        "name": "宝妈一群",
        "tags": ["宝妈"],
        "members": 2,
        "net_growth": 2,
        "joins": 3,
        "leaves": 1,
        "leave_rate": round(1 / 3, 4),
        "active": 2,
        "active_rate": 1.0,
        "checked_in": 1,
        "checkin_rate": 0.5,
        "posts": 1,
        "reached": 1,
        "post_reach": 0.5,
        "valid_invites": 0,
        "dead_letters": 0,
    }
    g2 = rows["g2"]
    assert (g2["members"], g2["joins"], g2["leaves"], g2["active"]) == (2, 2, 0, 1)
    assert (g2["valid_invites"], g2["dead_letters"], g2["leave_rate"]) == (1, 1, 0.0)
    assert (rows["g3"]["members"], rows["g3"]["tags"]) == (1, [])


async def test_subtotals_add_counts_and_recompute_rates(setup: Setup) -> None:
    _, client = setup
    body = await get(client)
    mums = body["subtotals"]["宝妈"]
    assert (mums["groups"], mums["members"], mums["leaves"], mums["active"]) == (2, 4, 1, 3)
    # 1 leave of (4 members + 1 leave), not the average of 1/3 and 0
    assert mums["leave_rate"] == 0.2 and mums["active_rate"] == 0.75
    assert body["subtotals"]["VIP"]["members"] == 2
    assert body["subtotals"][""]["groups"] == 1
    assert body["total"]["groups"] == 3 and body["total"]["members"] == 5


async def test_filter_sort_group_by_and_pages(setup: Setup) -> None:
    _, client = setup
    body = await get(client, "?tag=宝妈&sort=-leave_rate&group_by=tag")
    assert [g["id"] for g in body["groups"]] == ["g1", "g2"]
    assert set(body["subtotals"]) == {"宝妈", "VIP"}
    assert body["total"]["members"] == 4
    assert [(t["tag"], t["groups"]) for t in body["by_tag"]] == [
        ("宝妈", ["g1", "g2"]),
        ("VIP", ["g2"]),
    ]
    asc = await get(client, "?sort=members")
    assert [g["id"] for g in asc["groups"]] == ["g3", "g1", "g2"]
    page = await get(client, "?sort=members&per_page=2&page=2")
    assert [g["id"] for g in page["groups"]] == ["g2"]
    assert (page["pages"], page["count"], page["total"]["groups"]) == (2, 3, 3)


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("?tag=无此标签", "tag"),
        ("?days=0", "days"),
        ("?sort=bogus", "sort"),
        ("?group_by=region", "group_by"),
        ("?per_page=2&page=9", "page"),
    ],
)
async def test_bad_parameters_are_400(setup: Setup, query: str, word: str) -> None:
    _, client = setup
    body = await get(client, query, status=400)
    assert word in body["error"]


async def test_needs_the_token(setup: Setup) -> None:
    _, client = setup
    r = await client.get("/api/matrix")
    assert r.status == 401
