"""群规与违禁词 (``/admin/rules``) over real HTTP as a signed-in operator: a group's rules text
and banned words are checked exactly as the config is (a pattern that cannot compile, or an
empty text, is refused with its key path and nothing is stored), moderate the group's next
message as it arrives through ``/onebot`` (other groups keep their config), show in its /规则
answer, are audited with the staff name, and "恢复配置" returns to the config; a viewer's
POST and a form without the anti-forgery value change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.adapters.onebot import sign
from bot.web.app import create_app
from storage.models import AuditEntry, GroupSetting
from storage.models_moderation import ModerationLog
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness
from tests.staffkit import add_staff, csrf, sign_in

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
PATH = "/admin/rules"
SECRET = "rules-secret"
RULES = {"banned_words": ["代购"], "flood": {"enabled": False}, "text": "配置里的群规"}


@pytest.fixture
async def onebot() -> AsyncIterator[FakeOneBot]:
    async with FakeOneBot(access_token="tok") as bridge:
        yield bridge


@pytest.fixture
async def h(make_harness: MakeHarness, onebot: FakeOneBot) -> Harness:
    h = await make_harness(
        {
            "onebot": {
                "secret": SECRET,
                "api_url": onebot.url,
                "access_token": "tok",
                "self_id": "999",
            },
            "groups": [
                {"id": "10001", "platform": "onebot", "name": "QQ福利群"},
                {"id": "10002", "platform": "onebot", "name": "QQ二群"},
            ],
            "rules": RULES,
        }
    )
    await add_staff(h, "ann", "operator")
    await add_staff(h, "vic", "viewer")
    return h


async def send(client: TestClient, group: int, user: int, text: str, mid: int) -> None:
    """One group message through the signed /onebot path, processed."""
    body = {
        "post_type": "message",
        "message_type": "group",
        "message_id": mid,
        "group_id": group,
        "user_id": user,
        "self_id": 999,
        "time": 1763431200 + mid,
        "message": [{"type": "text", "data": {"text": text}}],
        "sender": {"user_id": user, "nickname": f"u{user}", "role": "member"},
    }
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, raw)}
    assert (await client.post("/onebot", data=raw, headers=headers)).status == 204


def deleted(bridge: FakeOneBot) -> list[int]:
    return [p["message_id"] for a, p in bridge.calls if a == "delete_msg"]


async def settings(h: Harness) -> list[tuple[str, str, object]]:
    async with h.bot.db.read() as s:
        rows = await s.execute(
            select(GroupSetting.group_id, GroupSetting.key, GroupSetting.value).where(
                GroupSetting.key.like("rules.%")
            )
        )
        return sorted((g, k, v) for g, k, v in rows.all())


async def audit(h: Harness) -> list[tuple[str, str, str | None]]:
    async with h.bot.db.read() as s:
        rows = await s.execute(
            select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.group_id)
            .where(AuditEntry.action.like("rules.%"))
            .order_by(AuditEntry.id)
        )
        return [(a, b, c) for a, b, c in rows.all()]


async def post(client: TestClient, **fields: str) -> tuple[int, str]:
    r = await client.post(PATH, data=fields, allow_redirects=False)
    return r.status, await r.text()


async def test_refused_edit_names_the_key_path_and_stores_nothing(
    h: Harness, aiohttp_client: Client
) -> None:
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    html = await (await client.get(f"{PATH}?group=10001")).text()
    assert "配置里的群规" in html and 'data-source="config"' in html and "代购" in html
    token = await csrf(client, PATH)
    form = {"csrf": token, "group": "10001", "do": "save"}
    # a pattern that cannot compile: refused with its key path, what was typed kept
    status, html = await post(client, **form, text="新群规", banned_words="刷单\n***\n")
    assert status == 400 and 'data-error="rules.banned_words[1]"' in html
    assert "rules.banned_words[1]: " in html and "新群规" in html and "***" in html
    status, html = await post(client, **form, text="  ", banned_words="刷单")
    assert status == 400 and 'data-error="rules.text"' in html
    status, html = await post(client, **form, text="x" * 2001, banned_words="")
    assert status == 400 and "rules.text: at most 2000 characters" in html
    status, _ = await post(client, **{**form, "group": "nope"}, text="x", banned_words="")
    assert status == 400
    assert await settings(h) == [] and await audit(h) == []


async def test_banned_word_moderates_the_next_onebot_message_then_reset(
    h: Harness, aiohttp_client: Client, onebot: FakeOneBot
) -> None:
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    token = await csrf(client, PATH)
    status, _ = await post(
        client,
        csrf=token,
        group="10001",
        do="save",
        text="1. 不发广告\r\n2. <友善>",
        banned_words="刷单\n 返利 \n",
    )
    assert status == 303
    assert await settings(h) == [
        ("10001", "rules.banned_words", ["刷单", "返利"]),
        ("10001", "rules.text", "1. 不发广告\n2. <友善>"),
    ]
    html = await (await client.get(f"{PATH}?group=10001&done=save")).text()
    assert "&lt;友善&gt;" in html and 'data-source="db"' in html and 'data-done="save"' in html

    # the next message of 10001 meets the new words, the config's 代购 no longer; 10002 keeps
    # the config's
    await send(client, 10001, 101, "专业 刷 单 了解一下", 1)
    await send(client, 10001, 102, "代购名牌包", 2)
    await send(client, 10002, 103, "刷单", 3)
    await send(client, 10002, 104, "代购", 4)
    await h.bot.drain()
    assert deleted(onebot) == [1, 4]
    warned = [t for t in onebot.sent_texts("10001") if "违禁词" in t]
    assert warned and "刷单" in warned[0]
    await h.say("bob", "/规则", group="10001")
    assert "2. <友善>" in onebot.sent_texts("10001")[-1]

    status, _ = await post(client, csrf=token, group="10001", do="reset")
    assert status == 303 and await settings(h) == []
    await h.say("bob", "/规则", group="10001")
    assert "配置里的群规" in onebot.sent_texts("10001")[-1]
    await send(client, 10001, 105, "刷单", 5)
    await send(client, 10001, 106, "代购", 6)
    await h.bot.drain()
    assert deleted(onebot) == [1, 4, 6]
    assert await audit(h) == [
        ("staff:ann", "rules.edit", "10001"),
        ("staff:ann", "rules.reset", "10001"),
    ]
    changes = await (await client.get("/admin/changes")).text()
    assert "rules.edit" in changes and "ann" in changes


async def test_viewer_and_forged_forms_change_nothing(h: Harness, aiohttp_client: Client) -> None:
    viewer = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(viewer, "vic")
    token = await csrf(viewer, PATH)  # the viewer reads the page
    data = {"csrf": token, "group": "10001", "do": "save", "text": "x", "banned_words": "y"}
    r = await viewer.post(PATH, data=data)
    assert r.status == 403
    operator = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(operator, "ann")
    r = await operator.post(PATH, data=data)  # the viewer's value is not the operator's
    assert r.status == 403
    assert await settings(h) == [] and await audit(h) == []
    async with h.bot.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(ModerationLog)) == 0
