"""Member tags: admins tag from chat, operators through the API, auto-tag rules by a job;
staff are never tagged by a rule, every change is an audit row, and the member view shows
the tags."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.config import ConfigError
from bot.web.app import create_app
from storage.models import AuditEntry
from tests.harness import Harness, make_config

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
AUTH = {"Authorization": "Bearer test-api-token"}


async def audit(h: Harness) -> list[tuple[str, str, str, str]]:
    async with h.bot.db.read() as s:
        rows = (await s.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    return [
        (r.action, r.actor_id, r.target_id, str(r.detail.get("tag")))
        for r in rows
        if r.action.startswith("members.")
    ]


async def test_admins_tag_untag_and_list_from_chat(make_harness: MakeHarness) -> None:
    h = await make_harness({"members": {"tags": ["VIP", "种子用户"]}})
    await h.say("alice", "大家好", name="阿丽")
    await h.say("bob", "hi")
    said = await h.say("gadmin", "/标签 @阿丽 VIP", mentions=("alice",))
    assert said == ["[g1] 🤖 🏷️ 已给 阿丽 加上标签「VIP」"], said
    assert "已有标签" in (await h.say("gadmin", "/标签 @alice VIP", mentions=("alice",)))[0]
    await h.say("gadmin", "/标签 @bob VIP", mentions=("bob",))
    await h.say("gadmin", "/标签 @bob 种子用户", mentions=("bob",))
    assert "VIP：2 人" in (await h.say("gadmin", "/标签列表"))[0]
    who = (await h.say("gadmin", "/标签列表 VIP"))[0]
    assert "共 2 人" in who and "阿丽" in who and "bob" in who
    said = await h.say("gadmin", "/去标签 @bob VIP", mentions=("bob",))
    assert "已去掉 bob 的标签「VIP」" in said[0]
    assert await audit(h) == [
        ("members.tag", "gadmin", "alice", "VIP"),
        ("members.tag", "gadmin", "bob", "VIP"),
        ("members.tag", "gadmin", "bob", "种子用户"),
        ("members.untag", "gadmin", "bob", "VIP"),
    ]


async def test_bad_commands_change_nothing(make_harness: MakeHarness) -> None:
    h = await make_harness({"members": {"tags": ["VIP"], "max_tags_per_member": 1}})
    await h.say("alice", "hi")
    assert "用法" in (await h.say("gadmin", "/标签 VIP"))[0]
    assert "不可用" in (await h.say("gadmin", "/标签 @alice 土豪", mentions=("alice",)))[0]
    assert "没有见过" in (await h.say("gadmin", "/标签 @nobody VIP", mentions=("nobody",)))[0]
    long = "长" * 300
    assert "不可用" in (await h.say("gadmin", f"/标签 @alice {long}", mentions=("alice",)))[0]
    # a member may not tag anyone
    said = await h.say("alice", "/标签 @alice VIP", mentions=("alice",))
    assert not any("已给" in s for s in said)
    assert await audit(h) == []


async def test_tag_cap(make_harness: MakeHarness) -> None:
    h = await make_harness({"members": {"max_tags_per_member": 1}})
    await h.say("alice", "hi")
    await h.say("gadmin", "/标签 @alice A", mentions=("alice",))
    assert "上限" in (await h.say("gadmin", "/标签 @alice B", mentions=("alice",)))[0]


async def test_tags_api_and_member_view(make_harness: MakeHarness, aiohttp_client: Client) -> None:
    h = await make_harness({"members": {"tags": ["VIP", "已购", "种子用户"]}})
    await h.say("alice", "hi")
    client = await aiohttp_client(create_app(h.bot, manage=False))
    url = "/api/groups/g1/members/alice/tags"
    assert (await client.get(url)).status == 401
    assert (await client.get("/api/groups/g1/members/ghost/tags", headers=AUTH)).status == 404
    r = await client.put(url, json={"tags": ["VIP", "已购"]}, headers=AUTH)
    assert r.status == 200, await r.text()
    body = await r.json()
    assert [(t["tag"], t["source"]) for t in body["tags"]] == [("VIP", "api"), ("已购", "api")]
    for bad in ({"tags": "VIP"}, {"tags": ["土豪"]}, {"tags": [1]}, {"nope": 1}):
        r = await client.put(url, json=bad, headers=AUTH)
        assert r.status == 400 and "tags" in (await r.json())["error"], bad
    r = await client.put(url, json={"tags": ["VIP", "种子用户"]}, headers=AUTH)
    assert [t["tag"] for t in (await r.json())["tags"]] == ["VIP", "种子用户"]
    r = await client.delete(url + "?tag=VIP", headers=AUTH)
    assert (await r.json())["removed"] is True
    assert (await client.delete(url, headers=AUTH)).status == 400
    view = await (await client.get("/api/groups/g1/members/alice", headers=AUTH)).json()
    assert view["tags"] == ["种子用户"]
    assert await audit(h) == [
        ("members.tag", "api", "alice", "VIP"),
        ("members.tag", "api", "alice", "已购"),
        ("members.untag", "api", "alice", "已购"),
        ("members.tag", "api", "alice", "种子用户"),
        ("members.untag", "api", "alice", "VIP"),
    ]


async def test_auto_tags_follow_their_rules_and_skip_staff(make_harness: MakeHarness) -> None:
    rules = [
        {"tag": "VIP", "when": "checkin_days >= 2"},
        {"tag": "沉默", "when": "inactive_days >= 30"},
    ]
    h = await make_harness({"members": {"auto_tags": rules}})
    for _day in range(2):
        for user, role in (("alice", ""), ("owner1", "owner"), ("gadmin", "")):
            await h.say(user, "/签到", role=role)
        await h.say("bob", "hi")
        await h.advance(days=1)
    await h.say("gadmin", "/标签 @bob VIP", mentions=("bob",))  # set by hand: a rule never takes it
    await h.run_jobs()
    async with h.bot.db.read() as s:
        from handlers.members import tags_of

        got = await tags_of(s, "g1", ["alice", "bob", "owner1", "gadmin"])
    assert got == {"alice": ["VIP"], "bob": ["VIP"]}
    await h.advance(days=31)
    await h.say("alice", "我还在")
    await h.run_jobs()
    async with h.bot.db.read() as s:
        got = await tags_of(s, "g1", ["alice", "bob", "owner1", "gadmin"])
    # alice keeps her 2 check-in days (VIP stays); bob went quiet
    assert got == {"alice": ["VIP"], "bob": ["VIP", "沉默"]}
    auto = [a for a in await audit(h) if a[1] == "auto"]
    assert auto == [("members.tag", "auto", "alice", "VIP"), ("members.tag", "auto", "bob", "沉默")]
    await h.run_jobs()  # nothing left to change
    assert [a for a in await audit(h) if a[1] == "auto"] == auto
    await h.say("bob", "我回来了")
    await h.advance(minutes=16)
    await h.run_jobs()  # bob spoke: the rule takes its own tag off, the admin's stays
    async with h.bot.db.read() as s:
        got = await tags_of(s, "g1", ["alice", "bob"])
    assert got == {"alice": ["VIP"], "bob": ["VIP"]}
    assert (await audit(h))[-1] == ("members.untag", "auto", "bob", "沉默")


async def test_auto_tag_conditions_are_a_fixed_vocabulary(tmp_path: object) -> None:
    for when in ("__import__('os') >= 1", "vip_score > 3", "vip_score >= x", "score >= 2"):
        with pytest.raises(ConfigError) as err:
            make_config(tmp_path, {"members": {"auto_tags": [{"tag": "VIP", "when": when}]}})  # type: ignore[arg-type]
        assert "members.auto_tags[0].when" in str(err.value)
