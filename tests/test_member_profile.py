"""成员档案 (``/admin/groups/{gid}/members/{uid}``) over real HTTP as signed-in staff: the
figures equal the member API's and the member's tags are shown; an admin warns, takes the
warning back, grants make-up cards, adjusts invites and tags — each exactly once however
often the same form is sent, told to the group like the chat command, never a warning for
group staff, audited with the staff name and shown in the history; bad input is refused with
the reason and nothing submitted; a viewer's POST is 403 and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.web.app import create_app
from storage.models import AuditEntry, InboxEvent
from tests.harness import Harness
from tests.staffkit import add_staff, csrf, sign_in

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
PATH = "/admin/groups/g1/members/bob"
AUTH = {"Authorization": "Bearer test-api-token"}


@pytest.fixture
async def h(make_harness: MakeHarness) -> Harness:
    h = await make_harness({"rules": {"warn_limit": 3}, "referral": {"adjust_cap": 5}})
    await add_staff(h, "ann", "admin")
    await add_staff(h, "oli", "operator")
    await add_staff(h, "vic", "viewer")
    await h.join("bob", name="小波")
    await h.say("bob", "/签到", name="小波")
    await h.say("gadmin", "/标签 @bob 种子用户")
    return h


async def figures(client: TestClient, path: str = PATH) -> tuple[dict[str, str], str]:
    html = await (await client.get(path)).text()
    return dict(re.findall(r'data-field="(\w+)" data-value="([^"]*)"', html)), html


def form_of(html: str, do: str) -> dict[str, str]:
    """The hidden fields of one action form on the page."""
    part = html.split(f'data-form="{do}"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', part))


async def act(h: Harness, client: TestClient, do: str, **fields: str) -> int:
    """Send one action's form twice (a double click), process, return the status."""
    html = await (await client.get(PATH)).text()
    data = {**form_of(html, do), "do": do, **fields}
    first = await client.post(PATH, data=data, allow_redirects=False)
    again = await client.post(PATH, data=data, allow_redirects=False)
    assert again.status == first.status
    await h.bot.drain()
    return first.status


async def staff_audit(h: Harness) -> list[tuple[str, str, str]]:
    async with h.bot.db.read() as s:
        rows = await s.execute(
            select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.target_id)
            .where(AuditEntry.actor_id.like("staff:%"))
            .order_by(AuditEntry.id)
        )
        return [(a, b, c) for a, b, c in rows.all()]


async def test_figures_equal_the_api_and_tags_show(h: Harness, aiohttp_client: Client) -> None:
    client = await aiohttp_client(create_app(h.bot, manage=False))
    api = await (await client.get("/api/groups/g1/members/bob", headers=AUTH)).json()
    client.session.cookie_jar.clear()
    await sign_in(client, "vic")
    got, html = await figures(client)
    assert got["checkins"] == str(api["checkins"]["total"]) == "1"
    assert got["points"] == str(api["points"]) and got["warnings"] == str(api["warnings"])
    assert got["invites"] == str(api["invites"]["valid"])
    assert api["tags"] == ["种子用户"] and 'data-tag="种子用户"' in html
    assert "小波" in html and "members.tag" in html  # the history: the admin's tag
    assert 'data-readonly="1"' in html and 'data-form="warn"' not in html  # a viewer
    assert (await client.get("/admin/groups/g1/members/nobody")).status == 404
    boards = await (await client.get("/admin/groups/g1/leaderboards")).text()
    assert f'href="{PATH}"' in boards  # the boards link each member to their profile


async def test_actions_run_once_each_and_are_audited(h: Harness, aiohttp_client: Client) -> None:
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    h.new_lines()
    assert await act(h, client, "warn", reason="发广告") == 303
    told = "\n".join(h.new_lines())
    assert told.count("发广告") == 1 and "警告 1/3" in told  # told to the group, once
    assert (await figures(client))[0]["warnings"] == "1"
    assert await act(h, client, "revoke") == 303
    assert (await figures(client))[0]["warnings"] == "0"
    assert await act(h, client, "cards", n="3") == 303
    assert await act(h, client, "invites", n="+2", reason="线下拉新") == 303
    assert await act(h, client, "tag", tag="VIP") == 303
    assert await act(h, client, "untag", tag="种子用户") == 303
    got, html = await figures(client)
    assert (got["cards"], got["invites"]) == ("3", "2")
    assert 'data-tag="VIP"' in html and 'data-tag="种子用户"' not in html
    assert await staff_audit(h) == [
        ("staff:ann", "rules.warn", "bob"),
        ("staff:ann", "rules.revoke", "bob"),
        ("staff:ann", "checkin.grant_cards", "bob"),
        ("staff:ann", "referral.adjust", "bob"),
        ("staff:ann", "members.tag", "bob"),
        ("staff:ann", "members.untag", "bob"),
    ]
    assert html.count("staff:ann") >= 6  # the history shows who
    api = await (await client.get("/api/groups/g1/members/bob", headers=AUTH)).json()
    assert api["tags"] == ["VIP"] and api["invites"]["valid"] == 2


async def test_bad_input_and_staff_are_refused(h: Harness, aiohttp_client: Client) -> None:
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    for do, fields, why in [
        ("cards", {"n": "0"}, "补签卡张数为 1–100"),
        ("invites", {"n": "0"}, "调整数不能为 0"),
        ("invites", {"n": "9"}, "单次调整最多 ±5"),
        ("tag", {"tag": "a b"}, "不可用"),
        ("cards", {"n": "x"}, "请填写整数"),
    ]:
        html = await (await client.get(PATH)).text()
        r = await client.post(PATH, data={**form_of(html, do), "do": do, **fields})
        assert r.status == 400 and why in await r.text(), (do, fields)
    token = await csrf(client, PATH)
    r = await client.post(PATH, data={"csrf": token, "nonce": "short", "do": "revoke"})
    assert r.status == 400 and "表单已失效" in await r.text()
    # group staff are never warned: no form, and a forged one is refused before anything
    await h.say("gadmin", "你好")
    gadmin = "/admin/groups/g1/members/gadmin"
    html = await (await client.get(gadmin)).text()
    assert 'data-form="warn"' not in html and "不能警告群主、管理员或工作人员" in html
    data = {**form_of(html, "cards"), "do": "warn"}
    r = await client.post(gadmin, data=data)
    assert r.status == 400 and "不能警告" in await r.text()
    await h.bot.drain()
    assert await staff_audit(h) == []
    async with h.bot.db.read() as s:
        jobs = await s.scalar(
            select(func.count())
            .select_from(InboxEvent)
            .where(InboxEvent.dedup_key.like("profile:%"))
        )
    assert jobs == 0


@pytest.mark.parametrize("name", ["vic", "oli"])  # a viewer, an operator: only admins act
async def test_below_admin_is_refused_and_nothing_changes(
    h: Harness, aiohttp_client: Client, name: str
) -> None:
    admin = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(admin, "ann")
    html = await (await admin.get(PATH)).text()
    other = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(other, name)
    assert 'data-readonly="1"' in await (await other.get(PATH)).text()
    token = await csrf(other, "/admin/broadcasts")
    before, _ = await figures(other)
    for do, fields in [("warn", {}), ("cards", {"n": "5"}), ("tag", {"tag": "VIP"})]:
        data = {**form_of(html, do), "csrf": token, "do": do, **fields}
        r = await other.post(PATH, data=data)
        assert r.status == 403
    await h.bot.drain()
    assert (await figures(other))[0] == before and await staff_audit(h) == []


async def test_no_actions_in_a_group_the_bot_only_observes(
    make_harness: MakeHarness, aiohttp_client: Client
) -> None:
    h = await make_harness({"bot": {"unknown_groups": "observe"}})
    await add_staff(h, "ann", "admin")
    await h.say("carol", "大家好", group="g9")  # a group not in [[groups]]: tracked only
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    path = "/admin/groups/g9/members/carol"
    html = await (await client.get(path)).text()
    assert 'data-unmanaged="1"' in html and 'data-form="cards"' not in html
    token = await csrf(client, "/admin/broadcasts")
    data = {"csrf": token, "nonce": "c" * 32, "do": "cards", "n": "2"}
    r = await client.post(path, data=data)
    assert r.status == 400 and "机器人不管理这个群" in await r.text()
    await h.bot.drain()
    assert await staff_audit(h) == []
