"""The dashboard over real HTTP: token, cookie and login form; every page served; hostile
names shown as text; the numbers on the page equal the stats API's."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from bot.web.app import create_app
from storage.models_moderation import ModerationLog
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
TOKEN = "test-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOSTILE = "<script>ale(1)</script>"  # also a member name: names are kept to 24 characters
PAGES = [
    "/admin/",
    "/admin/groups/g1",
    "/admin/groups/g1?days=7",
    "/admin/groups/g1/leaderboards",
    "/admin/groups/g1/programme",
    "/admin/groups/g1/autoreply",
    "/admin/outbox",
    "/admin/moderation",
    "/admin/moderation?group=g1",
    "/admin/broadcasts",
    "/admin/broadcasts/1",
]


async def seed(h: Harness) -> None:
    await h.join("evil", name=HOSTILE)
    await h.say("evil", "/签到", name=HOSTILE)
    await h.join("amy")
    await h.say("amy", "hello")
    await h.advance(days=1)
    await h.leave("amy")
    await h.say("evil", "<b>bold</b>", name=HOSTILE)
    async with h.bot.db.transaction() as s:
        s.add(
            ModerationLog(
                key="t:1",
                group_id="g1",
                user_id="evil",
                rule="ads",
                action="delete",
                reason="广告 <img src=x onerror=alert(2)>",
                excerpt=HOSTILE,
                created_at=h.clock.now(),
            )
        )


async def test_pages_need_the_token(make_harness: MakeHarness, aiohttp_client: Client) -> None:
    h = await make_harness()
    client = await aiohttp_client(create_app(h.bot, manage=False))
    r = await client.get("/admin/")
    assert r.status == 401
    html = await r.text()
    assert 'action="/admin/login"' in html and 'name="token"' in html  # the login form
    assert (await client.get("/admin/?token=wrong")).status == 401
    assert (await client.get("/admin/", headers={"Authorization": "Bearer wrong"})).status == 401
    assert (await client.get("/admin/groups/g1/stats.csv")).status == 401
    r = await client.post("/admin/login", data={"token": "wrong", "next": "/admin/outbox"})
    assert r.status == 401 and "令牌不正确" in await r.text()
    assert client.session.cookie_jar.filter_cookies(client.make_url("/admin/")) == {}
    # the header works; a browser signs in with the form and keeps an HttpOnly cookie
    assert (await client.get("/admin/", headers=AUTH)).status == 200
    r = await client.post(
        "/admin/login",
        data={"token": TOKEN, "next": "https://evil.example/"},
        allow_redirects=False,
    )
    assert r.status == 303 and r.headers["Location"] == "/admin/"  # never sent elsewhere
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Path=/admin" in cookie and TOKEN not in cookie
    assert "SameSite=Strict" in cookie
    assert (await client.get("/admin/outbox")).status == 200
    assert (await client.get("/api/groups")).status == 401  # the cookie is for the dashboard only
    await client.get("/admin/logout")
    assert (await client.get("/admin/outbox")).status == 401


async def test_token_link_sets_cookie_and_drops_token(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    h = await make_harness()
    client = await aiohttp_client(create_app(h.bot, manage=False))
    r = await client.get(f"/admin/groups/g1?days=7&token={TOKEN}", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/admin/groups/g1?days=7"
    assert "HttpOnly" in r.headers["Set-Cookie"]
    r = await client.get(r.headers["Location"])
    assert r.status == 200 and "<svg" in await r.text()


async def test_disabled_without_token(make_harness: MakeHarness, aiohttp_client: Client) -> None:
    h = await make_harness({"bot": {"api_token": ""}})
    client = await aiohttp_client(create_app(h.bot, manage=False))
    assert (await client.get("/admin/")).status == 403
    assert (await client.get("/admin/?token=")).status == 403
    assert (await client.post("/admin/login", data={"token": ""})).status == 403


async def test_every_page_escapes_hostile_text(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    h = await make_harness()
    await seed(h)
    client = await aiohttp_client(create_app(h.bot, manage=False))
    sent = {"targets": ["all"], "text": HOSTILE + "{group}"}
    assert (await client.post("/api/broadcasts", json=sent, headers=AUTH)).status == 201
    await h.bot.drain()
    seen_hostile = 0
    for path in PAGES:
        r = await client.get(path, headers=AUTH)
        assert r.status == 200, path
        assert r.content_type == "text/html"
        assert "script-src" not in r.headers["Content-Security-Policy"]  # default-src 'none'
        html = await r.text()
        assert 'name="viewport"' in html
        assert "<script" not in html and "<img" not in html and "<b>bold" not in html, path
        seen_hostile += "&lt;script&gt;ale(1)&lt;/script&gt;" in html
    assert seen_hostile >= 5  # leaderboards, outbox, moderation, broadcasts and the report
    for bad, status in (("/admin/groups/nope", 404), ("/admin/groups/g1?days=3", 400)):
        r = await client.get(bad, headers=AUTH)
        assert r.status == status and "error" in await r.json()


async def test_page_numbers_equal_the_api(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    h = await make_harness()
    await seed(h)
    client = await aiohttp_client(create_app(h.bot, manage=False))
    api = await (await client.get("/api/groups/g1/stats?days=30", headers=AUTH)).json()
    html = await (await client.get("/admin/groups/g1?days=30", headers=AUTH)).text()
    for field in ("members", "joins", "leaves", "checkins", "active_members"):
        drawn = dict(
            re.findall(rf'data-series="{field}" data-date="([\d-]+)" data-value="(\d+)"', html)
        )
        assert len(drawn) == len(api["days"]) == 2, field  # from the bot's first start on
        assert {d["date"]: str(d[field]) for d in api["days"]} == drawn, field
    today, yesterday = api["days"][-1], api["days"][-2]
    assert (yesterday["joins"], yesterday["members"], today["leaves"], today["members"]) == (
        2,
        2,
        1,
        1,
    )
    csv = await (await client.get("/admin/groups/g1/stats.csv?days=30", headers=AUTH)).text()
    assert csv.lstrip("\ufeff").splitlines()[-1].startswith(f"{today['date']},1,0,1,1,1")
    overview = await (await client.get("/admin/", headers=AUTH)).text()
    assert 'data-field="members" data-value="1"' in overview
    assert 'data-field="groups" data-value="2"' in overview
