"""Customer-group member sync through the real callback path: an encrypted
``change_external_chat`` → a delayed ``groupchat/get`` on the fake WeCom → member joined/left
events with the inviter from ``invitor`` or from a personal join code's ``state``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.adapters import wecom_sign
from bot.adapters.wecom import WeComKeys
from bot.events import from_payload
from bot.web.app import create_app
from handlers.wecom_sync import worker
from storage.models import Group, InboxEvent, Member
from storage.models_referral import Invite
from storage.models_wecom import WeComSyncRequest
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness

AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP = WeComKeys("apptoken", AES, "wwcorp")
CHAT = "wrChat1"
T0 = 1_763_400_000


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as f:
        f.customer.add_chat(CHAT, name="会员群")
        f.customer.add_member(CHAT, "staff1", T0, type_=1)
        f.customer.add_member(CHAT, "wmAlice", T0 + 1, invitor="staff1")
        f.customer.add_member(CHAT, "wmBob", T0 + 2, join_scene=3)
        yield f


def config(fake: FakeWeCom, **sync: Any) -> dict[str, Any]:
    return {
        "wecom": {
            "corp_id": "wwcorp",
            "token": APP.token,
            "encoding_aes_key": AES,
            "secret": "corp-secret",
            "api_base": fake.url,
            "sync": {"delay_s": 2, **sync},
        },
        "groups": [{"id": CHAT, "platform": "wecom", "name": "会员群", "admins": ["staff1"]}],
    }


@pytest.fixture
async def setup(
    fake: FakeWeCom,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> tuple[Harness, TestClient]:
    h = await make_harness(config(fake))
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def callback(client: TestClient, xml: str, nonce: str, times: int = 1) -> None:
    """Post one signed callback ``times`` times (WeCom redelivers the same request)."""
    q, body = wecom_sign.sign_post_xml(APP, xml, int(time.time()), nonce)
    for _ in range(times):
        r = await client.post("/wecom/callback", params=q, data=body)
        assert r.status == 200, await r.text()


async def settle(h: Harness, seconds: float = 3) -> None:
    """Process the callback, let the sync delay pass, run the worker, process its events."""
    await h.bot.drain()
    h.clock.advance(timedelta(seconds=seconds))
    await worker.run_once(h.bot)
    await h.bot.drain()


async def member(h: Harness, uid: str) -> Member | None:
    async with h.bot.db.read() as s:
        return await s.get(Member, (CHAT, uid))


async def events(h: Harness, kind: str) -> list[Any]:
    async with h.bot.db.read() as s:
        rows = await s.scalars(select(InboxEvent).where(InboxEvent.kind == kind))
        return [from_payload(r.payload) for r in rows]


async def baseline(h: Harness, client: TestClient) -> None:
    await worker.on_start(h.bot)  # reconcile on start: the first sync records members silently
    await settle(h, 0)


async def test_first_sync_is_silent_then_add_member_names_the_invitor(
    setup: tuple[Harness, TestClient], fake: FakeWeCom
) -> None:
    h, client = setup
    await baseline(h, client)
    assert (await member(h, "wmAlice")) is not None and (await member(h, "wmBob")).in_group
    assert await events(h, "member_joined") == [], "members already there are not newcomers"
    fake.customer.add_member(CHAT, "wmCarol", T0 + 100, invitor="staff1", name="Carol")
    xml = wecom_sign.external_chat_xml(CHAT, "update", "add_member", ("wmCarol",), 0)
    await callback(client, xml, "n1", times=2)  # WeCom redelivers
    await h.bot.drain()
    assert fake.customer.count("groupchat/get") == 1  # not before the delay
    await settle(h)
    joined = await events(h, "member_joined")
    assert [(e.user_id, e.inviter_id, e.inviter_source) for e in joined] == [
        ("wmCarol", "staff1", "wecom_invitor")
    ]
    carol = await member(h, "wmCarol")
    assert carol is not None and carol.in_group and carol.name == "Carol"
    assert carol.joined_at is not None and int(carol.joined_at.timestamp()) == T0 + 100
    async with h.bot.db.read() as s:
        invites = list((await s.scalars(select(Invite))).all())
    assert [(i.inviter_id, i.invitee_id) for i in invites] == [("staff1", "wmCarol")]
    # a second sync (e.g. the nightly reconcile) finds nothing new
    await worker.nightly(h.bot, slot="again")
    await settle(h, 0)
    assert len(await events(h, "member_joined")) == 1


async def test_personal_join_code_attributes_the_member(
    setup: tuple[Harness, TestClient], fake: FakeWeCom
) -> None:
    h, client = setup
    await baseline(h, client)
    said = await h.say("wmAlice", "/邀请码", CHAT)
    assert any("正在" in line for line in said)
    await worker.run_once(h.bot)
    posted = await h.advance(seconds=1)
    assert len(fake.customer.join_ways) == 1
    ((config_id, way),) = fake.customer.join_ways.items()
    assert way["chat_id_list"] == [CHAT] and way["scene"] == 2
    assert any(config_id in line for line in posted), posted
    again = await h.say("wmAlice", "/邀请码", CHAT)
    assert any(config_id in line for line in again)
    await worker.run_once(h.bot)
    assert fake.customer.count("add_join_way") == 1, "made once, then reused"
    fake.customer.add_member(CHAT, "wmDan", T0 + 200, state=way["state"], join_scene=3)
    xml = wecom_sign.external_chat_xml(CHAT, "update", "add_member", ("wmDan",), 3)
    await callback(client, xml, "n2")
    await settle(h)
    dan = [e for e in await events(h, "member_joined") if e.user_id == "wmDan"]
    assert len(dan) == 1 and dan[0].state == way["state"] and not dan[0].inviter_id
    async with h.bot.db.read() as s:
        inv = (await s.scalars(select(Invite).where(Invite.invitee_id == "wmDan"))).one()
    assert inv.inviter_id == "wmAlice" and inv.source == "wecom_state"


async def test_del_member_in_sequence_applies_at_once(
    setup: tuple[Harness, TestClient], fake: FakeWeCom
) -> None:
    h, client = setup
    await baseline(h, client)
    last = fake.customer.version(CHAT)
    fake.customer.remove_member(CHAT, "wmBob")
    at = T0 + 500
    xml = wecom_sign.external_chat_xml(
        CHAT, "update", "del_member", ("wmBob",), quit_scene=1, last_ver=last,
        cur_ver=fake.customer.version(CHAT), create_time=at,
    )  # fmt: skip
    await callback(client, xml, "n3")
    await h.bot.drain()
    await h.bot.drain()
    bob = await member(h, "wmBob")
    assert bob is not None and not bob.in_group
    assert bob.left_at is not None and int(bob.left_at.timestamp()) == at
    left = await events(h, "member_left")
    assert [(e.user_id, e.kicked) for e in left] == [("wmBob", True)]
    async with h.bot.db.read() as s:
        assert (await s.get(Group, CHAT)).member_version == fake.customer.version(CHAT)
        assert list((await s.scalars(select(WeComSyncRequest.reason))).all()) == ["reconcile"]


async def test_out_of_order_versions_resync_and_credit_the_event_time(
    setup: tuple[Harness, TestClient], fake: FakeWeCom
) -> None:
    h, client = setup
    await baseline(h, client)
    fake.customer.remove_member(CHAT, "wmAlice")  # a callback we never got
    fake.customer.remove_member(CHAT, "wmBob")
    at = T0 + 900
    xml = wecom_sign.external_chat_xml(
        CHAT, "update", "del_member", ("wmBob",), last_ver="stale", create_time=at
    )
    await callback(client, xml, "n4")
    await settle(h, seconds=60)
    left = {e.user_id: e for e in await events(h, "member_left")}
    assert set(left) == {"wmAlice", "wmBob"}
    assert int(left["wmBob"].occurred_at.timestamp()) == at  # named by the event
    assert left["wmAlice"].occurred_at == h.clock.now()  # found by the diff
    await worker.nightly(h.bot, slot="again")
    await settle(h, 0)
    assert len(await events(h, "member_left")) == 2


async def test_api_trouble_is_retried_then_given_up(
    setup: tuple[Harness, TestClient], fake: FakeWeCom
) -> None:
    h, client = setup
    await baseline(h, client)
    fake.customer.errcodes["groupchat/get"] = [-1, 90501]
    xml = wecom_sign.external_chat_xml(CHAT, "update", "add_member", ("x",))
    await callback(client, xml, "n5")
    await settle(h)
    async with h.bot.db.read() as s:
        req = (
            await s.scalars(select(WeComSyncRequest).where(WeComSyncRequest.reason == "add_member"))
        ).one()
    assert req.status == "queued" and req.attempts == 1 and "errcode -1" in req.last_error
    await settle(h, seconds=600)
    async with h.bot.db.read() as s:
        req = await s.get(WeComSyncRequest, req.id)
    assert req.status == "failed" and "90501" in req.last_error


@pytest.mark.parametrize("comma_list", [False, True], ids=["items", "comma-string"])
async def test_both_memchangelist_forms_name_the_newcomers(
    setup: tuple[Harness, TestClient], fake: FakeWeCom, comma_list: bool
) -> None:
    """The first event for a group never synced names its newcomers in either MemChangeList form
    (``<Item>`` children, or one comma-separated string): they are greeted and credited, the
    members already there are recorded silently."""
    h, client = setup
    fake.customer.add_member(CHAT, "wmCarol", T0 + 100, invitor="staff1", name="Carol")
    fake.customer.add_member(CHAT, "wmDan", T0 + 101, invitor="staff1", name="Dan")
    xml = wecom_sign.external_chat_xml(
        CHAT, "update", "add_member", ("wmCarol", "wmDan"), 0, comma_list=comma_list
    )
    assert ("<Item>" in xml) is not comma_list
    await callback(client, xml, "n9")
    await settle(h)
    joined = sorted(e.user_id for e in await events(h, "member_joined"))
    assert joined == ["wmCarol", "wmDan"]
    async with h.bot.db.read() as s:
        invites = sorted((await s.scalars(select(Invite.invitee_id))).all())
    assert invites == ["wmCarol", "wmDan"]
    alice = await member(h, "wmAlice")
    assert alice is not None and alice.in_group, "already there: recorded, not a newcomer"


async def test_join_code_post_mentions_corp_userids_only(
    fake: FakeWeCom,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    """In a customer group the member asking is an external contact (``wm…``): a robot's
    ``mentioned_list`` takes corp userids only, so the post names them in its text and mentions
    nobody; a staff member (a corp userid) is still mentioned."""
    cfg = config(fake)
    cfg["groups"][0]["webhook_key"] = "KEY1"
    h = await make_harness(cfg)
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await baseline(h, client)
    for uid in ("wmAlice", "staff1"):
        await h.say(uid, "/邀请码", CHAT)
        await worker.run_once(h.bot)
        await h.advance(seconds=1)
    sent = [b for _, b, _ in fake.webhook_calls if "入群码：" in b["text"]["content"]]
    assert len(sent) == 2, [b for _, b, _ in fake.webhook_calls]
    by_name = {("Alice" if "wmAlice" in b["text"]["content"] else "staff"): b for b in sent}
    assert "mentioned_list" not in by_name["Alice"]["text"]
    assert by_name["staff"]["text"]["mentioned_list"] == ["staff1"]
