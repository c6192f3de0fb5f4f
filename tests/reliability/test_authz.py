"""Authorization matrix: every command above member level × every kind of speaker, and the
token guard on every ``/api`` and ``/admin`` route.

Rules checked:
- The commands are enumerated from the live registry, so a new command is covered the day it
  is registered. A speaker below the command's declared ``Role`` gets exactly the refusal
  text and nothing else changes (every table except the inbox, the outbox row of the refusal,
  member tracking and message statistics is row-for-row the same). A speaker at or above it is not
  refused.
- Roles: a plain member; a group admin from config; a platform admin and a platform owner
  (OneBot ``sender.role``); a global admin from ``bot.admins``.
- Every ``/api/…`` and ``/admin…`` route answers 401 without a token, with a wrong bearer
  token and (dashboard) with a wrong ``?token=``; with no ``api_token`` configured the API is
  disabled (403).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

import handlers
from bot.commands import Role
from bot.dispatch.router import build_registry
from bot.web.app import create_app
from storage import metadata
from tests.harness import Harness

REGISTRY = build_registry([f.router for f in handlers.FEATURES if f.router is not None])
GUARDED = [s for s in REGISTRY.specs.values() if s.role > Role.MEMBER]
# (user id, platform role sent with the message, the role the bot must give them)
SPEAKERS = [
    ("alice", "", Role.MEMBER),
    ("gadmin", "", Role.ADMIN),  # listed in the group's admins
    ("padmin", "admin", Role.ADMIN),  # the platform says admin
    ("owner1", "owner", Role.OWNER),  # the platform says owner
    ("root", "", Role.GLOBAL_ADMIN),  # listed in bot.admins
]
# what every message touches, command or not: the inbox, member tracking, message statistics
UNTRACKED = {"inbox", "outbox", "members", "groups"}
UNTRACKED_PREFIXES = ("stats_",)


async def snapshot(h: Harness) -> dict[str, list[str]]:
    """Every row of every table that a refused command must leave alone."""
    out: dict[str, list[str]] = {}
    async with h.bot.db.read() as s:
        for table in metadata.sorted_tables:
            if table.name not in UNTRACKED and not table.name.startswith(UNTRACKED_PREFIXES):
                rows = (await s.execute(select(table))).all()
                out[table.name] = sorted(repr(tuple(r)) for r in rows)
    return out


def test_the_matrix_is_not_empty() -> None:
    assert len(GUARDED) >= 5
    assert any(s.role == Role.ADMIN for s in GUARDED)


@pytest.mark.parametrize("name", sorted(s.name for s in GUARDED))
async def test_guarded_command_refuses_below_its_role(
    make_harness: Callable[..., Awaitable[Harness]], name: str
) -> None:
    h = await make_harness()
    spec = REGISTRY.specs[name]
    refusal = f"抱歉，/{name} 只有{spec.role.label}可以使用。"
    await h.say("bob", "大家好")  # the usual target of "@bob" arguments is a member
    for word in (spec.name, *spec.aliases):
        for user, platform_role, role in SPEAKERS:
            before = await snapshot(h)
            said = await h.say(user, f"/{word} @bob 1", role=platform_role)
            refused = [line for line in said if "抱歉" in line and "可以使用" in line]
            if role < spec.role:
                assert said == [f"[g1] 🤖 {refusal.replace(name, word, 1)}"], (user, said)
                assert await snapshot(h) == before, f"/{word} by {user} changed state"
            else:
                assert refused == [], (user, said)


def guarded_routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith(("/api/", "/admin")):
            out.append((route.method, re.sub(r"\{[^}]+\}", "g1", path)))
    return sorted(set(out))


async def test_every_api_and_admin_route_needs_the_token(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await make_harness()
    app = create_app(h.bot, manage=False)
    routes = guarded_routes(app)
    assert any(p.startswith("/api/") for _, p in routes)
    client = await aiohttp_client(app)
    for method, path in routes:
        client.session.cookie_jar.clear()  # (signing in with the header sets the cookie)
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-api-token"}):
            r = await client.request(method, path, headers=headers)
            assert r.status == 401, (method, path, headers, r.status)
        if path.startswith("/admin"):
            r = await client.request(method, path, params={"token": "wrong"})
            assert r.status == 401, (method, path)
        ok = await client.request(method, path, headers={"Authorization": "Bearer test-api-token"})
        assert ok.status != 401, (method, path)


async def test_api_is_disabled_without_a_token(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await make_harness({"bot": {"api_token": ""}})
    client = await aiohttp_client(create_app(h.bot, manage=False))
    for path in ("/api/groups", "/api/outbox", "/admin/"):
        r = await client.get(path, headers={"Authorization": "Bearer "})
        assert r.status == 403, path
