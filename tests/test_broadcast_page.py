"""The 群发 pages over real HTTP, signed in the way a browser is (session cookie): compose,
preview per group, send, follow, schedule and cancel; forms without the anti-forgery value
are refused; hostile text is shown, never run."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.web.app import create_app
from storage.models import OutboxMessage
from storage.models_broadcast import Broadcast
from tests.harness import Harness

TOKEN = "test-api-token"
GROUPS = [
    {"id": "g1", "name": "宝妈一群", "tags": ["宝妈"]},
    {"id": "g2", "name": "宝妈二群", "tags": ["宝妈"]},
    {"id": "g3", "name": "VIP群", "tags": ["VIP"]},
]
Setup = tuple[Harness, TestClient]


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> Setup:
    h = await make_harness({"groups": GROUPS})
    await h.bot.drain()  # (the periodic job's first run)
    client = await aiohttp_client(create_app(h.bot, manage=False))
    r = await client.get(f"/admin/broadcasts?token={TOKEN}", allow_redirects=False)
    assert r.status == 303  # the token link sets the session cookie
    return h, client


async def form_values(client: TestClient) -> dict[str, str]:
    r = await client.get("/admin/broadcasts")
    assert r.status == 200
    html = await r.text()
    found = dict(re.findall(r'<input type="hidden" name="(csrf|nonce)" value="([^"]+)"', html))
    assert set(found) == {"csrf", "nonce"}
    return found


async def counts(h: Harness) -> tuple[int, int]:
    async with h.bot.db.read() as s:
        return (
            int(await s.scalar(select(func.count()).select_from(Broadcast)) or 0),
            int(await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0),
        )


async def submit(client: TestClient, fields: list[tuple[str, str]]) -> Any:
    return await client.post("/admin/broadcasts", data=fields, allow_redirects=False)


async def test_compose_preview_send_and_follow(setup: Setup) -> None:
    h, client = setup
    assert 'href="/admin/broadcasts">群发</a>' in await (await client.get("/admin/outbox")).text()
    v = await form_values(client)
    base = [("csrf", v["csrf"]), ("nonce", v["nonce"]), ("target", "tag:宝妈")]
    text = [("format", "text"), ("text", "{group}的家人们 <b>好</b>")]
    r = await submit(client, [*base, *text, ("do", "preview")])
    assert r.status == 200
    html = await r.text()
    assert "宝妈一群的家人们 &lt;b&gt;好&lt;/b&gt;" in html and "宝妈二群的家人们" in html
    assert "VIP群的家人们" not in html and "<b>好</b>" not in html
    assert await counts(h) == (0, 0)  # a preview stores nothing

    r = await submit(client, [*base, *text, ("do", "send")])
    assert r.status == 303
    where = r.headers["Location"]
    again = await submit(client, [*base, *text, ("do", "send")])  # a double click
    assert again.status == 303 and again.headers["Location"] == where
    await h.bot.drain()
    assert sorted(h.lines) == [
        "[g1] 🤖 宝妈一群的家人们 <b>好</b>",
        "[g2] 🤖 宝妈二群的家人们 <b>好</b>",
    ]
    html = await (await client.get(where)).text()
    assert html.count('data-state="sent"') == 2 and 'data-status="done"' in html
    assert '<div class="card" data-field="sent" data-value="2">' in html
    assert "&lt;b&gt;好&lt;/b&gt;" in html and "取消未发出的消息" not in html
    listing = await (await client.get("/admin/broadcasts")).text()
    assert f'href="{where}"' in listing and "已排队" in listing


async def test_schedule_then_cancel_from_the_page(setup: Setup) -> None:
    h, client = setup
    v = await form_values(client)
    fields = [
        ("csrf", v["csrf"]),
        ("nonce", v["nonce"]),
        ("target", "all"),
        ("text", "明天见"),
        ("at", "2026-11-18T20:30"),  # the bot's timezone: Asia/Shanghai
        ("do", "send"),
    ]
    r = await submit(client, fields)
    assert r.status == 303
    where = r.headers["Location"]
    async with h.bot.db.read() as s:
        at = await s.scalar(select(Broadcast.at))
    assert at == datetime(2026, 11, 18, 12, 30, tzinfo=UTC)
    html = await (await client.get(where)).text()
    assert 'data-status="scheduled"' in html and html.count('data-state="scheduled"') == 3
    csrf = re.findall(r'name="csrf" value="([^"]+)"', html)[0]
    forged = await client.post(where + "/cancel", data={}, allow_redirects=False)
    assert forged.status == 403
    r = await client.post(where + "/cancel", data={"csrf": csrf}, allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == where
    html = await (await client.get(where)).text()
    assert 'data-status="cancelled"' in html and html.count('data-state="cancelled"') == 3
    await h.advance(hours=12)
    assert h.lines == [] and (await counts(h))[1] == 0


@pytest.mark.parametrize("csrf", [None, "", "0" * 64])
async def test_a_form_without_the_anti_forgery_value_is_refused(
    setup: Setup, csrf: str | None
) -> None:
    h, client = setup
    fields = [("target", "all"), ("text", "伪造"), ("do", "send")]
    if csrf is not None:
        fields.append(("csrf", csrf))
    r = await submit(client, fields)
    assert r.status == 403
    await h.bot.drain()
    assert await counts(h) == (0, 0) and h.lines == []


async def test_a_refused_form_is_shown_again_with_the_reason(setup: Setup) -> None:
    h, client = setup
    v = await form_values(client)
    fields = [("csrf", v["csrf"]), ("text", "{nickname} 你好"), ("target", "all")]
    r = await submit(client, [*fields, ("do", "send")])
    assert r.status == 400
    html = await r.text()
    assert 'data-error="text"' in html and "{nickname} 你好</textarea>" in html
    r = await submit(client, [("csrf", v["csrf"]), ("text", "x"), ("do", "preview")])
    assert r.status == 400 and 'data-error="targets"' in await r.text()
    assert await counts(h) == (0, 0)


async def test_the_pages_need_the_token(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await make_harness({"groups": GROUPS})
    client = await aiohttp_client(create_app(h.bot, manage=False))
    assert (await client.get("/admin/broadcasts")).status == 401
    assert (await client.get("/admin/broadcasts/1")).status == 401
    r = await submit(client, [("target", "all"), ("text", "x"), ("do", "send")])
    assert r.status == 401
    assert (await client.post("/admin/broadcasts/1/cancel")).status == 401
    assert await counts(h) == (0, 0)
