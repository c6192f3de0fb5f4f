"""The 自动回复 tab edits a group's keyword replies over real HTTP as a signed-in operator:
checked exactly as ``/加回复`` checks them (a bad template, an unusable keyword or one rule
past ``max_chat_rules`` is refused with the reason, what was typed kept, nothing stored),
answered from the group's next message, the same keywords replacing the reply, removed with
its button; every change audited with the staff name; a viewer's POST changes nothing."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.web.app import create_app
from storage.models import AuditEntry
from storage.models_autoreply import AutoreplyRule
from tests.harness import Harness
from tests.staffkit import add_staff, csrf, sign_in

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
PATH = "/admin/groups/g1/autoreply"


@pytest.fixture
async def h(make_harness: MakeHarness) -> Harness:
    h = await make_harness({"autoreply": {"max_chat_rules": 2, "cooldown_s": 0}})
    await add_staff(h, "ann", "operator")
    await add_staff(h, "vic", "viewer")
    return h


async def rules(h: Harness) -> list[tuple[str, list[str], str]]:
    async with h.bot.db.read() as s:
        rows = await s.execute(
            select(AutoreplyRule.group_id, AutoreplyRule.keywords, AutoreplyRule.reply).order_by(
                AutoreplyRule.id
            )
        )
        return [(g, list(k), r) for g, k, r in rows.all()]


async def audit(h: Harness) -> list[tuple[str, str]]:
    async with h.bot.db.read() as s:
        rows = await s.execute(
            select(AuditEntry.actor_id, AuditEntry.action)
            .where(AuditEntry.action.like("autoreply.%"))
            .order_by(AuditEntry.id)
        )
        return [(a, b) for a, b in rows.all()]


async def post(client: TestClient, **data: str) -> tuple[int, str]:
    r = await client.post(PATH, data=data, allow_redirects=False)
    return r.status, await r.text()


async def test_add_replace_refuse_remove(h: Harness, aiohttp_client: Client) -> None:
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    token = await csrf(client, PATH)
    status, html = await post(client, csrf=token, do="add", spec="优惠券|券", reply="{oops} 看公告")
    assert status == 400 and "回复内容无法使用" in html and "{oops} 看公告" in html
    status, html = await post(client, csrf=token, do="add", spec="！！", reply="看公告")
    assert status == 400 and "无法使用" in html
    assert await rules(h) == [] and await audit(h) == []

    status, _ = await post(client, csrf=token, do="add", spec="优惠券|券", reply="{name} 请看公告")
    assert status == 303
    said = await h.say("bob", "优惠券在哪领？")
    assert any("bob 请看公告" in line for line in said)  # the group's next message
    status, _ = await post(client, csrf=token, do="add", spec="券|优惠券", reply="新的回复")
    assert status == 303 and await rules(h) == [("g1", ["券", "优惠券"], "新的回复")]
    status, _ = await post(client, csrf=token, do="add", spec="=你好", reply="你好呀")
    status, html = await post(client, csrf=token, do="add", spec="早安", reply="早")
    assert status == 400 and "本群最多 2 条" in html and len(await rules(h)) == 2

    html = await (await client.get(PATH)).text()
    rid = re.search(r'data-remove="#(\d+)"', html)
    assert rid and 'data-table="chat-rules"' in html and "新的回复" in html
    status, _ = await post(client, csrf=token, do="remove", rule=f"#{rid.group(1)}")
    assert status == 303 and [r[2] for r in await rules(h)] == ["你好呀"]
    said = await h.say("bob", "优惠券呢")
    assert not any("新的回复" in line for line in said)
    status, _ = await post(client, csrf=token, do="remove", rule=f"#{rid.group(1)}")
    assert status == 400
    assert await audit(h) == [
        ("staff:ann", "autoreply.add"),
        ("staff:ann", "autoreply.add"),
        ("staff:ann", "autoreply.add"),
        ("staff:ann", "autoreply.remove"),
    ]


async def test_viewer_cannot_change(h: Harness, aiohttp_client: Client) -> None:
    viewer = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(viewer, "vic")
    token = await csrf(viewer, "/admin/broadcasts")
    html = await (await viewer.get(PATH)).text()
    assert 'data-readonly="1"' in html and 'data-form="add"' not in html
    r = await viewer.post(PATH, data={"csrf": token, "do": "add", "spec": "券", "reply": "x"})
    assert r.status == 403
    assert await rules(h) == [] and await audit(h) == []
