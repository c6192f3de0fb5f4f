"""Console staff over real HTTP: signing in with name and password, server-side sessions that
survive a restart and run out (idle and absolute), logout, throttled failures on the
monotonic clock, roles (a viewer's POST is a 403 and changes nothing), anti-forgery values
bound to the session, and the audit of every change with the staff member's name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.web.app import create_app
from storage.models import AuditEntry, OutboxMessage
from storage.models_broadcast import Broadcast
from storage.models_staff import StaffSession
from tests.harness import Harness
from tests.staffkit import PASSWORD, add_staff, csrf, sign_in

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
GROUPS = [
    {"id": "g1", "name": "宝妈一群", "tags": ["宝妈"]},
    {"id": "g2", "name": "宝妈二群", "tags": ["宝妈"]},
    {"id": "g3", "name": "VIP群", "tags": ["VIP"]},
]
CONSOLE = {"idle_minutes": 30, "max_hours": 8, "max_failures": 3, "lockout_s": 600}


@pytest.fixture
async def h(make_harness: MakeHarness) -> Harness:
    h = await make_harness({"groups": GROUPS, "console": CONSOLE})
    await h.bot.drain()
    await add_staff(h, "ann", "operator")
    await add_staff(h, "vic", "viewer")
    return h


async def counts(h: Harness) -> tuple[int, int, int]:
    async with h.bot.db.read() as s:
        return (
            int(await s.scalar(select(func.count()).select_from(Broadcast)) or 0),
            int(await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0),
            int(await s.scalar(select(func.count()).select_from(AuditEntry)) or 0),
        )


def send_form(token: str, text: str = "{group}的家人们好") -> list[tuple[str, str]]:
    return [
        ("csrf", token),
        ("nonce", "0" * 31 + "1"),
        ("target", "tag:宝妈"),
        ("format", "text"),
        ("text", text),
        ("do", "send"),
    ]


async def test_sign_in_cookie_and_name_shown(h: Harness, aiohttp_client: Client) -> None:
    client = await aiohttp_client(create_app(h.bot, manage=False))
    r = await client.get("/admin/")
    assert r.status == 401 and 'name="password"' in await r.text()
    r = await client.post(
        "/admin/login",
        data={"name": "ann", "password": PASSWORD, "next": "https://evil.example/"},
        allow_redirects=False,
    )
    assert r.status == 303 and r.headers["Location"] == "/admin/"
    cookie = r.headers["Set-Cookie"]
    assert "groupbot_staff=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    async with h.bot.db.read() as s:
        stored = list(await s.scalars(select(StaffSession.id)))
    value = client.session.cookie_jar.filter_cookies(client.make_url("/admin/"))["groupbot_staff"]
    assert len(stored) == 1 and value.value not in stored  # only its hash is kept
    html = await (await client.get("/admin/outbox")).text()
    assert 'data-role="operator">ann（运营）' in html
    assert (await client.get("/api/groups")).status == 401  # the console cookie is not the API


async def test_wrong_password_same_answer_and_throttled(h: Harness, aiohttp_client: Client) -> None:
    client = await aiohttp_client(create_app(h.bot, manage=False))

    async def attempt(name: str, password: str) -> int:
        data = {"name": name, "password": password}
        return (await client.post("/admin/login", data=data, allow_redirects=False)).status

    assert await attempt("nobody", "wrong password") == 401
    assert await attempt("ann", "wrong password") == 401
    assert await attempt("ann", "wrong again!") == 401
    # the third failure from this address: locked, even with the right password
    assert await attempt("ann", PASSWORD) == 429
    assert await attempt("vic", PASSWORD) == 429  # (per address too)
    h.clock.step_wall(3600)  # a wall clock stepped forward unlocks nothing
    assert await attempt("ann", PASSWORD) == 429
    h.clock.advance(600)
    assert await attempt("ann", PASSWORD) == 303


async def test_sessions_survive_restart_and_run_out(h: Harness, aiohttp_client: Client) -> None:
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    jar = client.session.cookie_jar.filter_cookies(client.make_url("/admin/"))
    cookie = {"groupbot_staff": jar["groupbot_staff"].value}
    # a new app (a restart) on the same database knows the session
    other = await aiohttp_client(create_app(h.bot, manage=False), cookies=cookie)
    assert (await other.get("/admin/outbox")).status == 200
    # used every 20 minutes it lives on, until 8 hours after signing in
    for _ in range(23):
        h.clock.advance(20 * 60)
        assert (await other.get("/admin/outbox")).status == 200
    h.clock.advance(21 * 60)  # (8 h 1 min after signing in)
    assert (await other.get("/admin/outbox")).status == 401  # absolute timeout
    async with h.bot.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(StaffSession)) == 0
    await sign_in(client, "ann")
    h.clock.advance(31 * 60)
    assert (await client.get("/admin/outbox")).status == 401  # idle timeout


async def test_logout_ends_the_session(h: Harness, aiohttp_client: Client) -> None:
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    jar = client.session.cookie_jar.filter_cookies(client.make_url("/admin/"))
    cookie = {"groupbot_staff": jar["groupbot_staff"].value}
    await client.get("/admin/logout", allow_redirects=False)
    replay = await aiohttp_client(create_app(h.bot, manage=False), cookies=cookie)
    assert (await replay.get("/admin/outbox")).status == 401  # the old cookie is dead


async def test_viewer_reads_but_cannot_change(h: Harness, aiohttp_client: Client) -> None:
    viewer = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(viewer, "vic")
    token = await csrf(viewer, "/admin/broadcasts")  # the viewer sees the page
    before = await counts(h)
    r = await viewer.post("/admin/broadcasts", data=send_form(token), allow_redirects=False)
    assert r.status == 403 and "只读" in await r.text()
    r = await viewer.post("/admin/broadcasts/1/cancel", data={"csrf": token})
    assert r.status == 403
    assert await counts(h) == before


async def test_forms_bound_to_the_session(h: Harness, aiohttp_client: Client) -> None:
    ann = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(ann, "ann")
    await add_staff(h, "bob", "operator")
    bob = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(bob, "bob")
    bobs = await csrf(bob, "/admin/broadcasts")
    before = await counts(h)
    for data in ([(k, v) for k, v in send_form("x") if k != "csrf"], send_form(bobs)):
        r = await ann.post("/admin/broadcasts", data=data, allow_redirects=False)
        assert r.status == 403
    assert await counts(h) == before


async def test_operator_change_audited_and_listed(h: Harness, aiohttp_client: Client) -> None:
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    token = await csrf(client, "/admin/broadcasts")
    r = await client.post("/admin/broadcasts", data=send_form(token), allow_redirects=False)
    assert r.status == 303
    async with h.bot.db.read() as s:
        rows = list(await s.scalars(select(AuditEntry).where(AuditEntry.action.like("broadcast%"))))
    assert [(a.actor_id, a.action) for a in rows] == [("staff:ann", "broadcast.create")]
    html = await (await client.get("/admin/changes")).text()
    assert 'data-table="changes"' in html and "ann" in html and "broadcast.create" in html


async def test_disabled_account_is_signed_out(h: Harness, aiohttp_client: Client) -> None:
    from bot.staff import accounts

    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    async with h.bot.db.transaction() as s:
        await accounts.set_disabled(s, "ann", True, h.clock.now())
    assert (await client.get("/admin/outbox")).status == 401
    r = await client.post("/admin/login", data={"name": "ann", "password": PASSWORD})
    assert r.status == 401


async def test_every_console_post_refuses_a_viewer(h: Harness, aiohttp_client: Client) -> None:
    from tests.reliability.test_authz import guarded_routes

    app = create_app(h.bot, manage=False)
    viewer = await aiohttp_client(app)
    await sign_in(viewer, "vic")
    token = await csrf(viewer, "/admin/broadcasts")
    posts = [p for m, p in guarded_routes(app) if m == "POST" and p.startswith("/admin")]
    assert {"/admin/broadcasts", "/admin/programme", "/admin/rules"} <= set(posts)
    assert {"/admin/groups/g1/members/g1", "/admin/groups/g1/autoreply"} <= set(posts)
    before = await counts(h)
    for path in posts:
        if path == "/admin/login":
            continue
        r = await viewer.post(path, data={"csrf": token, "target": "all", "do": "send"})
        assert r.status == 403, path
    assert await counts(h) == before
