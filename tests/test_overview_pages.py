"""``/admin/``'s group table comes a page at a time, in the known-groups order (configured groups
first, then the others by id), with links to the other pages; a page number or size out of range
is a 400 that says the range."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from bot.web.app import create_app
from handlers.stats.reports import known_group_ids
from storage.models import Group
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
TOKEN = "pages-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def shown(html: str) -> list[str]:
    """The group ids of the table's rows, in order (from their links)."""
    return re.findall(r'<tr><td><a href="/admin/groups/([^"]+)"', html)


async def test_the_group_table_pages_through_every_group(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    h = await make_harness({"bot": {"api_token": TOKEN}})
    now = h.clock.now()
    async with h.bot.db.transaction() as s:
        for i in range(118):
            s.add(Group(id=f"w{i}", platform="onebot", name="", created_at=now))
    async with h.bot.db.read() as s:
        everyone = await known_group_ids(s, h.bot.config)
    assert len(everyone) == 120 and everyone[:2] == ["g1", "g2"]
    client = await aiohttp_client(create_app(h.bot, manage=False))

    async def page(query: str) -> str:
        r = await client.get(f"/admin/{query}", headers=AUTH)
        assert r.status == 200, await r.text()
        return await r.text()

    first = await page("")
    assert shown(first) == everyone[:50]
    assert 'data-page="1" data-pages="3"' in first
    assert 'data-field="groups" data-value="120"' in first
    assert set(re.findall(r'<a href="[^"]*" data-page="(\d+)"', first)) == {"2", "3"}
    pages = [shown(await page(f"?page={n}")) for n in (1, 2, 3)]
    assert [g for p in pages for g in p] == everyone  # each group once, none left out
    assert len(pages[2]) == 20
    last = await page("?page=12&per_page=10")
    assert shown(last) == everyone[110:]
    assert 'href="/admin/?page=11&amp;per_page=10"' in last  # the size is kept in the links


async def test_a_page_out_of_range_is_refused_with_the_range(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    h = await make_harness({"bot": {"api_token": TOKEN}})
    client = await aiohttp_client(create_app(h.bot, manage=False))
    for query, reason in (
        ("?page=2", "page must be a whole number from 1 to 1"),
        ("?page=0", "page must be a whole number from 1 to 1"),
        ("?page=x", "page must be a whole number from 1 to 1"),
        ("?per_page=500", "per_page must be a whole number from 10 to 200"),
    ):
        r = await client.get(f"/admin/{query}", headers=AUTH)
        assert r.status == 400, query
        assert (await r.json()) == {"error": reason}


async def test_the_groups_api_answers_every_group_or_one_page(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    h = await make_harness({"bot": {"api_token": TOKEN}})
    await h.join("amy")
    now = h.clock.now()
    async with h.bot.db.transaction() as s:
        for i in range(118):
            s.add(Group(id=f"w{i}", platform="onebot", name=f"群{i}", created_at=now))
    client = await aiohttp_client(create_app(h.bot, manage=False))

    async def get(query: str) -> dict[str, Any]:
        r = await client.get(f"/api/groups{query}", headers=AUTH)
        assert r.status == 200, await r.text()
        body: dict[str, Any] = await r.json()
        return body

    everything = await get("")
    assert set(everything) == {"groups"} and len(everything["groups"]) == 120  # the contract
    assert everything["groups"][0] == {
        "id": "g1",
        "name": "测试群",
        "platform": "console",
        "tags": ["t"],
        "members": 1,
        "active": True,
    }
    pages = [await get(f"?page={n}&per_page=50") for n in (1, 2, 3)]
    assert [g for p in pages for g in p["groups"]] == everything["groups"]
    assert [(p["page"], p["per_page"], p["total"]) for p in pages] == [
        (1, 50, 120),
        (2, 50, 120),
        (3, 50, 120),
    ]
    assert (await get("?page=2"))["groups"] == everything["groups"][50:100]  # 50 by default
    assert (await get("?page=9"))["groups"] == []
    for query in ("?page=0", "?page=x", "?per_page=0", "?per_page=501"):
        r = await client.get(f"/api/groups{query}", headers=AUTH)
        assert r.status == 400, query
        assert "must be a whole number from 1 to" in (await r.json())["error"]
