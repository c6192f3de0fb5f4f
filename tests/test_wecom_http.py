"""HTTP-level WeCom callback and aibot tests: real app, requests signed and encrypted as
WeCom does, every rejection case changes nothing."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.adapters import wecom_sign
from bot.adapters.wecom import WeComKeys
from bot.events import GroupChanged, MessageReceived, from_payload
from bot.web.app import create_app
from storage.models import InboxEvent
from tests.harness import Harness

AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP = WeComKeys("apptoken", AES, "wwcorp")
AIBOT = WeComKeys("aibottoken", AES[::-1], "")


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> tuple[Harness, TestClient]:
    h = await make_harness(
        {
            "wecom": {
                "corp_id": "wwcorp",
                "token": APP.token,
                "encoding_aes_key": AES,
                "aibot": {"token": AIBOT.token, "encoding_aes_key": AIBOT.encoding_aes_key},
            },
            # these tests read what the adapters parsed back from the inbox; an ignored
            # group's events are stored without their content
            "bot": {"unknown_groups": "observe"},
        }
    )
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def rows(h: Harness) -> list[InboxEvent]:
    async with h.bot.db.read() as s:
        q = select(InboxEvent).where(InboxEvent.platform != "internal").order_by(InboxEvent.id)
        return list((await s.scalars(q)).all())


def now() -> int:
    return int(time.time())


async def test_url_verification_answers_plain_echostr(setup: tuple[Harness, TestClient]) -> None:
    _h, client = setup
    q = wecom_sign.sign_get(APP, "echo-1234567890", now(), "n1")
    r = await client.get("/wecom/callback", params=q)
    assert r.status == 200 and await r.read() == b"echo-1234567890"
    q["msg_signature"] = "0" * 40
    assert (await client.get("/wecom/callback", params=q)).status == 401
    qa = wecom_sign.sign_get(AIBOT, "ai-echo", now(), "n2")
    r2 = await client.get("/wecom/aibot", params=qa)
    assert r2.status == 200 and await r2.read() == b"ai-echo"


async def test_change_external_chat_stored_once(setup: tuple[Harness, TestClient]) -> None:
    h, client = setup
    xml = wecom_sign.external_chat_xml("wrChat1", "update", "add_member", ("Jack", "Rose"))
    q, body = wecom_sign.sign_post_xml(APP, xml, now(), "nonce-a")
    for _ in range(3):  # WeCom redelivers the same request
        r = await client.post("/wecom/callback", params=q, data=body)
        assert r.status == 200 and await r.text() == ""
    stored = await rows(h)
    assert len(stored) == 1
    ev = from_payload(stored[0].payload)
    assert isinstance(ev, GroupChanged) and ev.member_ids == ("Jack", "Rose")
    await h.bot.drain()


@pytest.mark.parametrize("members", [(), ("Solo",)])
async def test_member_list_shapes(
    setup: tuple[Harness, TestClient], members: tuple[str, ...]
) -> None:
    h, client = setup
    xml = wecom_sign.external_chat_xml("wrChat2", "update", "del_member", members)
    q, body = wecom_sign.sign_post_xml(APP, xml, now(), f"n-{len(members)}")
    assert (await client.post("/wecom/callback", params=q, data=body)).status == 200
    ev = from_payload((await rows(h))[0].payload)
    assert isinstance(ev, GroupChanged) and ev.member_ids == members


async def test_rejections_change_nothing(setup: tuple[Harness, TestClient]) -> None:
    h, client = setup
    xml = wecom_sign.text_xml("wwcorp", "zhangsan", "你好", 1)
    good_q, good_body = wecom_sign.sign_post_xml(APP, xml, now(), "nn")
    stale_q, stale_body = wecom_sign.sign_post_xml(APP, xml, now() - 3600, "nn2")
    other = WeComKeys(APP.token, AES, "someone-else")
    wrong_id_q, wrong_id_body = wecom_sign.sign_post_xml(other, xml, now(), "nn3")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;&lol;">]><xml><Encrypt>&lol2;</Encrypt></xml>'
    )
    xxe = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'
    truncated = good_body.replace(b"]]></Encrypt>", b"]]></Encrypt>").split(b"<Encrypt>")[0] + (
        b"<Encrypt><![CDATA[abc]]></Encrypt></xml>"
    )
    cases = [
        (dict(good_q, msg_signature="f" * 40), good_body, 401),
        ({k: v for k, v in good_q.items() if k != "msg_signature"}, good_body, 401),
        (stale_q, stale_body, 403),
        (wrong_id_q, wrong_id_body, 401),
        (good_q, bomb, 400),
        (good_q, xxe, 400),
        (good_q, b"<xml><Encrypt>", 400),
        (good_q, b"\xff\xfe garbage", 400),
        (good_q, truncated, 401),
        (good_q, b"<xml>" + b"a" * 70_000 + b"</xml>", 413),
    ]
    for q, body, status in cases:
        r = await client.post("/wecom/callback", params=q, data=body)
        assert r.status == status, (q, body[:40], await r.text())
    assert await rows(h) == []
    # a replayed nonce carrying another signature is refused; the server keeps serving
    assert (await client.post("/wecom/callback", params=good_q, data=good_body)).status == 200
    replay_q, replay_body = wecom_sign.sign_post_xml(
        APP, wecom_sign.text_xml("wwcorp", "x", "y", 2), int(good_q["timestamp"]), "nn"
    )
    assert (await client.post("/wecom/callback", params=replay_q, data=replay_body)).status == 403
    assert len(await rows(h)) == 1


async def test_unknown_event_is_stored_and_ignored(setup: tuple[Harness, TestClient]) -> None:
    h, client = setup
    xml = (
        "<xml><ToUserName>wwcorp</ToUserName><FromUserName>sys</FromUserName>"
        "<CreateTime>1</CreateTime><MsgType>event</MsgType><Event>something_new</Event></xml>"
    )
    q, body = wecom_sign.sign_post_xml(APP, xml, now(), "u1")
    assert (await client.post("/wecom/callback", params=q, data=body)).status == 200
    await h.bot.drain()
    stored = await rows(h)
    assert stored[0].kind == "unknown" and stored[0].status == "done"


async def test_aibot_group_mention_command(setup: tuple[Harness, TestClient]) -> None:
    h, client = setup
    inner = wecom_sign.aibot_text("wrGroup", "lisi", "@群助手 /帮助", "msg-1")
    q, body = wecom_sign.sign_post_aibot(AIBOT, inner, now(), "a1")
    assert (await client.post("/wecom/aibot", params=q, data=body)).status == 200
    assert (await client.post("/wecom/aibot", params=q, data=body)).status == 200
    stored = await rows(h)
    assert len(stored) == 1
    ev = from_payload(stored[0].payload)
    assert isinstance(ev, MessageReceived)
    assert ev.text == "/帮助" and ev.group_id == "wrGroup" and ev.to_bot and ev.reply_url
    async with h.bot.db.read() as s:
        n = await s.scalar(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.platform == "aibot")
        )
    assert n == 1
    bad = (await client.post("/wecom/aibot", params=q, data=b"{nope")).status
    assert bad == 400
