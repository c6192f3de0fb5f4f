"""The guided actions through the real /onebot path and the fake bridge: a clean-up never
removes staff or allow-listed members and keeps its daily cap; a promotion invites each
chosen member once, privately, and records who joined the VIP group."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.adapters.onebot import sign
from bot.web.app import create_app
from storage.models import AuditEntry
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
SECRET = "act-secret"
AUTH = {"Authorization": "Bearer test-api-token"}
T0 = 1763431200  # the harness clock's start (2026-11-18 10:00 in Shanghai)


class Wire:
    """Plays a OneBot bridge posting events to the bot's /onebot."""

    def __init__(self, h: Harness, client: TestClient) -> None:
        self.h, self.client, self.mid = h, client, 0

    async def post(self, body: dict[str, Any]) -> None:
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, raw)}
        r = await self.client.post("/onebot", data=raw, headers=headers)
        assert r.status == 204, await r.text()
        await self.h.bot.drain()

    def _t(self) -> int:
        return int(self.h.clock.now().timestamp())

    async def join(self, user: int, group: int = 10001) -> None:
        await self.post(
            {
                "post_type": "notice",
                "notice_type": "group_increase",
                "sub_type": "approve",
                "group_id": group,
                "user_id": user,
                "operator_id": user,
                "self_id": 999,
                "time": self._t(),
            }
        )

    async def say(self, user: int, text: str, role: str = "member", at: int = 0) -> None:
        self.mid += 1
        segs: list[dict[str, Any]] = [{"type": "text", "data": {"text": text}}]
        if at:
            segs.append({"type": "at", "data": {"qq": str(at)}})
        await self.post(
            {
                "post_type": "message",
                "message_type": "group",
                "message_id": self.mid,
                "group_id": 10001,
                "user_id": user,
                "self_id": 999,
                "time": self._t(),
                "message": segs,
                "sender": {"user_id": user, "nickname": f"u{user}", "role": role},
            }
        )


def config(bridge: FakeOneBot, **members: Any) -> dict[str, Any]:
    return {
        "onebot": {"secret": SECRET, "api_url": bridge.url, "self_id": "999"},
        "members": members,
        "groups": [
            {"id": "10001", "platform": "onebot", "name": "宝妈群"},
            {"id": "10002", "platform": "onebot", "name": "VIP群"},
        ],
    }


async def confirm(client: TestClient, kind: str, **body: Any) -> tuple[int, dict[str, Any]]:
    r = await client.post(f"/api/groups/10001/actions/{kind}", json=body, headers=AUTH)
    return r.status, await r.json()


async def dry(client: TestClient, kind: str) -> dict[str, Any]:
    r = await client.get(f"/api/groups/10001/actions/{kind}", headers=AUTH)
    assert r.status == 200, await r.text()
    body: dict[str, Any] = await r.json()
    return body


async def test_cleanup_spares_staff_and_allow_list_and_keeps_its_cap(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    async with FakeOneBot() as bridge:
        h = await make_harness(config(bridge, cleanup={"inactive_days": 30, "daily_cap": 2}))
        client = await aiohttp_client(create_app(h.bot, manage=False))
        wire = Wire(h, client)
        for user in (101, 102, 103, 104, 105, 106, 999):
            await wire.join(user)
        await wire.say(200, "我是群主", role="owner")
        await wire.say(201, "/白名单 添加", role="admin", at=105)
        h.clock.advance(31 * 86400)
        await wire.say(106, "我还在")
        first = await dry(client, "cleanup")
        assert [c["user_id"] for c in first["candidates"]] == ["101", "102"]
        assert (first["cap"], first["used"], first["can_act"]) == (2, 0, True)
        status, run = await confirm(client, "cleanup", digest=first["digest"], user_ids=["101"])
        assert status == 201 and run["members"] == 1
        again = await confirm(client, "cleanup", digest=first["digest"], user_ids=["101"])
        assert again == (200, run)  # a double click finds the same run
        await h.bot.drain()
        assert bridge.kicks() == [("10001", "101")]
        stale = await confirm(client, "cleanup", digest=first["digest"], user_ids=["102"])
        assert stale[0] == 409  # the list changed since it was shown
        second = await dry(client, "cleanup")
        assert [c["user_id"] for c in second["candidates"]] == ["102"]  # one left of the cap
        forged = await confirm(client, "cleanup", digest=second["digest"], user_ids=["103"])
        assert forged[0] == 400  # not on the list shown
        assert (await confirm(client, "cleanup", digest=second["digest"]))[0] == 201
        await h.bot.drain()
        await h.advance(minutes=1)
        await h.run_jobs()
        assert bridge.kicks() == [("10001", "101"), ("10001", "102")]
        assert (await dry(client, "cleanup"))["candidates"] == []  # the cap is reached
        report = await (await client.get(f"/api/actions/{run['id']}", headers=AUTH)).json()
        assert [(m["user_id"], m["state"]) for m in report["members"]] == [("101", "kicked")]
        # the next day: never staff (owner 200, admin 201, the bot 999), never the allow-list
        h.clock.advance(86400)
        third = await dry(client, "cleanup")
        assert [c["user_id"] for c in third["candidates"]] == ["103", "104"]
    async with h.bot.db.read() as s:
        rows = (
            await s.scalars(select(AuditEntry).where(AuditEntry.action == "members.cleanup"))
        ).all()
    assert sorted((r.target_id, r.detail["state"]) for r in rows) == [
        ("101", "kicked"),
        ("102", "kicked"),
    ]


async def test_promote_invites_once_and_records_the_join(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    async with FakeOneBot() as bridge:
        promote = {"target_group": "10002", "link": "https://example.com/j/vip", "min_score": 1}
        h = await make_harness(config(bridge, promote=promote))
        client = await aiohttp_client(create_app(h.bot, manage=False))
        wire = Wire(h, client)
        for user in (103, 104, 105):
            await wire.join(user)
        for user, role in ((103, "member"), (104, "member"), (201, "admin")):
            await wire.say(user, "/签到", role=role)
        found = await dry(client, "promote")
        assert [c["user_id"] for c in found["candidates"]] == ["103", "104"]  # admin 201: staff
        status, run = await confirm(client, "promote", digest=found["digest"])
        assert status == 201 and run["members"] == 2
        await h.bot.drain()
        await h.advance(minutes=1)
        await h.run_jobs()
        await h.run_jobs()
        for user in ("103", "104"):
            texts = bridge.private_texts(user)
            assert len(texts) == 1 and "https://example.com/j/vip" in texts[0], texts
        assert bridge.private_texts("201") == []
        await wire.join(103, group=10002)
        report = await (await client.get(f"/api/actions/{run['id']}", headers=AUTH)).json()
        states = {m["user_id"]: m["state"] for m in report["members"]}
        assert states == {"103": "joined", "104": "invited"}
        assert (await dry(client, "promote"))["candidates"] == []  # invited or in the VIP group


async def test_on_wecom_the_owner_gets_the_list(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    h = await make_harness(
        {
            "groups": [{"id": "wx1", "platform": "wecom", "name": "企微群"}],
            "members": {"cleanup": {"inactive_days": 30}},
        }
    )
    for user in ("amy", "ben"):
        await h.join(user, group="wx1")
    h.clock.advance(31 * 86400)
    client = await aiohttp_client(create_app(h.bot, manage=False))
    r = await client.get("/api/groups/wx1/actions/cleanup", headers=AUTH)
    found = await r.json()
    assert found["can_act"] is False and len(found["candidates"]) == 2
    r = await client.post(
        "/api/groups/wx1/actions/cleanup", json={"digest": found["digest"]}, headers=AUTH
    )
    assert r.status == 201
    await h.bot.drain()
    report = await (await client.get(f"/api/actions/{(await r.json())['id']}", headers=AUTH)).json()
    assert {m["state"] for m in report["members"]} == {"listed"}
    said = "\n".join(h.lines)
    assert "请群主手动移出以下 2 人" in said and "amy" in said and "ben" in said


def test_the_promote_target_must_be_a_group(tmp_path: Any) -> None:
    import pytest

    from bot.config import ConfigError
    from tests.harness import make_config

    with pytest.raises(ConfigError) as err:
        make_config(tmp_path, {"members": {"promote": {"target_group": "nope"}}})
    assert "members.promote.target_group" in str(err.value)
    with pytest.raises(ConfigError) as err:
        make_config(tmp_path, {"members": {"promote": {"link": "javascript:alert(1)"}}})
    assert "members.promote.link" in str(err.value)
