"""Group tags set from the console and the API, over real HTTP: configured tags stay, others
are stored and replaced; a tag given this way is what broadcasts (``tag:``), the programme's
``tag:`` targets, the matrix and ``/api/groups`` use; bad input and forms without the
anti-forgery value change nothing; every change is in the audit log."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.web.app import create_app
from handlers.programme.ticks import tick
from storage.models import AuditEntry, GroupTag
from tests.harness import Harness

TOKEN = "test-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONFIG = {
    "groups": [
        {"id": "g1", "platform": "console", "name": "宝妈一群", "tags": ["宝妈"]},
        {"id": "g2", "platform": "console", "name": "二群"},
        {"id": "g3", "platform": "console", "name": "三群"},
    ],
    "programme": {
        "slots": [
            {
                "id": "east",
                "days": ["wed"],
                "time": "10:30",
                "theme": "华东早报",
                "content": "华东早报来了",
                "targets": ["tag:华东"],
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
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def put(client: TestClient, gid: str, body: Any, status: int = 200) -> Any:
    r = await client.put(f"/api/groups/{gid}/tags", json=body, headers=AUTH)
    assert r.status == status, await r.text()
    return await r.json()


async def stored(h: Harness) -> list[tuple[str, str]]:
    async with h.bot.db.read() as s:
        return sorted((await s.execute(select(GroupTag.group_id, GroupTag.tag))).all())


async def test_api_sets_tags_and_keeps_configured_ones(setup: Setup) -> None:
    h, client = setup
    body = await put(client, "g1", {"tags": ["宝妈", "华东", "VIP", "华东"]})
    assert body == {
        "group_id": "g1",
        "tags": ["宝妈", "华东", "VIP"],
        "config_tags": ["宝妈"],
        "stored_tags": ["华东", "VIP"],
    }
    body = await put(client, "g1", {"tags": ["VIP"]})  # replaces; the file's tag stays
    assert body["tags"] == ["宝妈", "VIP"]
    assert await stored(h) == [("g1", "VIP")]
    groups = await (await client.get("/api/groups", headers=AUTH)).json()
    assert [g["tags"] for g in groups["groups"]] == [["宝妈", "VIP"], [], []]
    async with h.bot.db.read() as s:
        audit = (await s.scalars(select(AuditEntry).where(AuditEntry.action == "group_tags"))).all()
    assert [(a.actor_id, a.detail["after"]) for a in audit] == [
        ("api", ["宝妈", "华东", "VIP"]),
        ("api", ["宝妈", "VIP"]),
    ]


@pytest.mark.parametrize(
    "body",
    [{"tags": ["有 空格"]}, {"tags": ["x" * 33]}, {"tags": "VIP"}, {"tags": [1]}, {}],
)
async def test_bad_tags_change_nothing(setup: Setup, body: Any) -> None:
    h, client = setup
    await put(client, "g2", {"tags": ["华东"]})
    answer = await put(client, "g2", body, status=400)
    assert "tags" in answer["error"]
    assert await stored(h) == [("g2", "华东")]


async def test_unknown_group_and_no_token(setup: Setup) -> None:
    _, client = setup
    await put(client, "nope", {"tags": ["x"]}, status=404)
    r = await client.put("/api/groups/g1/tags", json={"tags": ["x"]})
    assert r.status == 401


async def test_given_tags_choose_broadcast_programme_and_matrix(setup: Setup) -> None:
    h, client = setup
    await put(client, "g2", {"tags": ["华东"]})
    await put(client, "g3", {"tags": ["华东", "VIP"]})
    r = await client.post(
        "/api/broadcasts", json={"targets": ["tag:华东"], "text": "通知"}, headers=AUTH
    )
    assert r.status == 201, await r.text()
    report = await (
        await client.get(f"/api/broadcasts/{(await r.json())['id']}", headers=AUTH)
    ).json()
    assert sorted(g["group_id"] for g in report["groups"]) == ["g2", "g3"]
    matrix = await (await client.get("/api/matrix?tag=华东", headers=AUTH)).json()
    assert [g["id"] for g in matrix["groups"]] == ["g2", "g3"]
    assert set(matrix["subtotals"]) == {"华东", "VIP"}
    await h.advance(minutes=31)
    await tick(h.bot)  # the 10:30 slot for tag:华东
    await h.bot.drain()
    posted = [ln for ln in h.lines if "华东早报来了" in ln]
    assert sorted(ln[:4] for ln in posted) == ["[g2]", "[g3]"]


async def test_console_form(setup: Setup) -> None:
    h, client = setup
    r = await client.get(f"/admin/groups/g2/tags?token={TOKEN}", allow_redirects=False)
    assert r.status == 303  # the token link sets the session cookie
    html = await (await client.get("/admin/groups/g2/tags")).text()
    assert "标签" in html
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    assert csrf is not None
    r = await client.post("/admin/groups/g2/tags", data={"tags": "华东"}, allow_redirects=False)
    assert r.status == 403 and await stored(h) == []
    r = await client.post(
        "/admin/groups/g2/tags",
        data={"csrf": csrf.group(1), "tags": "华东，VIP  新店"},
        allow_redirects=False,
    )
    assert r.status == 303 and r.headers["Location"] == "/admin/groups/g2/tags?saved=1"
    assert await stored(h) == [("g2", "VIP"), ("g2", "华东"), ("g2", "新店")]
    shown = await (await client.get("/admin/groups/g2/tags?saved=1")).text()
    assert 'data-tags="华东 VIP 新店"' in shown and 'data-saved="1"' in shown
    r = await client.post("/admin/groups/g2/tags", data={"csrf": csrf.group(1), "tags": "坏:标签"})
    assert r.status == 400 and len(await stored(h)) == 3
    async with h.bot.db.read() as s:
        n = await s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.actor_id == "token")
        )
    assert n == 1
