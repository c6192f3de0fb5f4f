"""Console staff in tests: accounts made through ``bot.staff.accounts`` and browsers signed in
through the real login form (cookies kept by the test client)."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from bot.staff import accounts
from tests.harness import Harness

PASSWORD = "correct horse battery"


async def add_staff(h: Harness, name: str, role: str, password: str = PASSWORD) -> None:
    async with h.bot.db.transaction() as s:
        await accounts.add_user(s, name, role, password, h.clock.now())


async def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> None:
    """Sign in with the login form; the client keeps the session cookie."""
    r = await client.post(
        "/admin/login",
        data={"name": name, "password": password, "next": "/admin/"},
        allow_redirects=False,
    )
    assert r.status == 303, await r.text()


async def csrf(client: TestClient, path: str) -> str:
    """The anti-forgery value of the forms on ``path`` for the client's session."""
    r = await client.get(path)
    assert r.status == 200, await r.text()
    found = re.search(r'name="csrf" value="([^"]+)"', await r.text())
    assert found, f"no form on {path}"
    return found.group(1)
