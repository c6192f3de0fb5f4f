"""兑换码导入 (``/admin/rewards``) over real HTTP as a signed-in operator: a CSV upload checked
as ``groupbot rewards import`` checks it (an unknown tier or a bad row refuses the whole file
with the line named, nothing stored), into the pool the chosen group draws from (its waiting
claim fulfilled, other pools untouched), idempotent, audited with the staff name; a viewer's
upload changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.web.app import create_app
from storage.models import AuditEntry
from storage.models_referral import RewardClaim, RewardCode
from tests.harness import Harness
from tests.staffkit import add_staff, csrf, sign_in

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
PATH = "/admin/rewards"
GROUPS = [
    {"id": "g1", "name": "一群", "admins": ["gadmin"]},
    {"id": "g2", "name": "二群"},
]
REFERRAL = {"pool_by": "group", "tiers": [{"invites": 1, "reward": "红包"}]}


@pytest.fixture
async def h(make_harness: MakeHarness) -> Harness:
    h = await make_harness({"groups": GROUPS, "referral": REFERRAL})
    await add_staff(h, "ann", "operator")
    await add_staff(h, "vic", "viewer")
    await h.say("bob", "大家好")
    await h.say("gadmin", "/调整邀请 1", mentions=("bob",))
    await h.say("bob", "/领奖")
    return h


async def state(h: Harness) -> tuple[dict[str, int], list[str]]:
    async with h.bot.db.read() as s:
        pools = list(await s.scalars(select(RewardCode.pool)))
        claims = list(await s.scalars(select(RewardClaim.status)))
    return {p: pools.count(p) for p in set(pools)}, claims


async def upload(client: TestClient, token: str, group: str, body: bytes) -> tuple[int, str]:
    form = FormData()
    form.add_field("csrf", token)
    form.add_field("group", group)
    form.add_field("file", body, filename="codes.csv", content_type="text/csv")
    r = await client.post(PATH, data=form)
    return r.status, await r.text()


async def test_import_checked_scoped_and_audited(h: Harness, aiohttp_client: Client) -> None:
    assert await state(h) == ({}, ["pending"])
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    token = await csrf(client, PATH)
    status, html = await upload(client, token, "g1", "档位,兑换码\n1,CODE-A\n5,CODE-B\n".encode())
    assert status == 400 and "codes.csv:3: tier 5 is not a reward tier" in html
    status, html = await upload(client, token, "g1", b"1,CODE-A\n1,two words\n")
    assert status == 400 and "codes.csv:2:" in html
    status, html = await upload(client, token, "g1", "1,码".encode("gb18030"))
    assert status == 400 and "UTF-8" in html
    assert await state(h) == ({}, ["pending"])

    good = "\ufeff档位,兑换码\n1,CODE-A\n1,CODE-B\n\n".encode()
    status, html = await upload(client, token, "g1", good)
    assert status == 200 and 'data-added="2" data-fulfilled="1"' in html
    assert await state(h) == ({"group:g1": 2}, ["fulfilled"])
    status, html = await upload(client, token, "g1", good)  # the same file again
    assert status == 200 and 'data-added="0"' in html
    assert 'data-table="pools"' in html and "group:g1" in html
    async with h.bot.db.read() as s:
        audit = (
            await s.execute(
                select(AuditEntry.actor_id, AuditEntry.target_id, AuditEntry.detail).where(
                    AuditEntry.action == "referral.codes_import"
                )
            )
        ).all()
    assert [(a, t, d["added"]) for a, t, d in audit] == [
        ("staff:ann", "group:g1", 2),
        ("staff:ann", "group:g1", 0),
    ]


async def test_viewer_cannot_import(h: Harness, aiohttp_client: Client) -> None:
    viewer = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(viewer, "vic")
    token = await csrf(viewer, PATH)
    status, _ = await upload(viewer, token, "", b"1,CODE-V\n")
    assert status == 403
    assert await state(h) == ({}, ["pending"])
