"""The 清理/晋升 page over real HTTP, signed in the way a browser is (session cookie): the
dry run with its boxes, a confirmation without the anti-forgery value refused with nothing
stored, a confirmation of the list shown carried out once, a stale list refused."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.web.app import create_app
from storage.models_members import MemberAction
from tests.harness import Harness
from tests.staffkit import add_staff, sign_in

TOKEN = "test-api-token"
PAGE = "/admin/groups/g1/actions"


async def runs(h: Harness) -> int:
    async with h.bot.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(MemberAction)) or 0)


async def test_cleanup_from_the_page(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await make_harness({"members": {"cleanup": {"inactive_days": 30, "daily_cap": 5}}})
    for user in ("amy", "ben", "<b>cat</b>"):
        await h.join(user)
    await h.say("gadmin", "管理员在此")
    await h.advance(days=31)
    client = await aiohttp_client(create_app(h.bot, manage=False))
    r = await client.get(f"{PAGE}?token={TOKEN}", allow_redirects=False)
    assert r.status == 303
    html = await (await client.get(PAGE)).text()
    assert "清理不活跃成员" in html and "晋升到 VIP 群" in html
    assert "&lt;b&gt;cat&lt;/b&gt;" in html and "<b>cat</b>" not in html
    boxes = re.findall(r'name="uid" value="([^"]+)"', html)
    assert sorted(boxes) == ["&lt;b&gt;cat&lt;/b&gt;", "amy", "ben"]  # gadmin: staff
    assert "未设置目标群" in html  # promote has no target group
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    digest = re.search(r'data-form="cleanup".*?name="digest" value="([0-9a-f]{64})"', html, re.S)
    assert csrf and digest
    fields = [("digest", digest.group(1)), ("uid", "amy"), ("uid", "ben")]
    r = await client.post(f"{PAGE}/cleanup", data=fields, allow_redirects=False)
    assert r.status == 403 and await runs(h) == 0
    r = await client.post(
        f"{PAGE}/cleanup", data=[("csrf", csrf.group(1)), *fields], allow_redirects=False
    )
    assert r.status == 303, await r.text()
    await h.bot.drain()
    assert await runs(h) == 1
    shown = await (await client.get(r.headers["Location"])).text()
    assert shown.count("已移出") >= 2 and "操作人 token" in shown  # the signed-in actor
    r = await client.post(
        f"{PAGE}/cleanup", data=[("csrf", csrf.group(1)), *fields], allow_redirects=False
    )
    assert r.status == 303 and await runs(h) == 1  # the same confirmation: the same run
    stale = [("csrf", csrf.group(1)), ("digest", digest.group(1)), ("uid", "<b>cat</b>")]
    r = await client.post(f"{PAGE}/cleanup", data=stale, allow_redirects=False)
    assert r.status == 409 and "名单已变化" in await r.text() and await runs(h) == 1


async def test_an_operator_sees_the_list_and_cannot_confirm(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    """Acting on members needs the admin role: an operator's confirmation is 403, no run."""
    h = await make_harness({"members": {"cleanup": {"inactive_days": 30, "daily_cap": 5}}})
    await add_staff(h, "oli", "operator")
    for user in ("amy", "ben"):
        await h.join(user)
    await h.advance(days=31)
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "oli")
    html = await (await client.get(PAGE)).text()
    assert 'data-readonly="1"' in html and "确认清理" not in html
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    digest = re.search(r'data-form="cleanup".*?name="digest" value="([0-9a-f]{64})"', html, re.S)
    assert csrf and digest
    fields = [("csrf", csrf.group(1)), ("digest", digest.group(1)), ("uid", "amy")]
    r = await client.post(f"{PAGE}/cleanup", data=fields, allow_redirects=False)
    assert r.status == 403 and "管理员" in await r.text()
    await h.bot.drain()
    assert await runs(h) == 0
