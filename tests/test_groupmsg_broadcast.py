"""Broadcasts to WeCom customer groups over real HTTP and the fake WeCom API on 127.0.0.1:
an ``official`` broadcast becomes one 企业群发 task per owner and its report shows each
group's result; a plain one reminds each owner; a cancel withdraws the tasks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from bot.web.app import create_app
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness
from tests.test_groupmsg import AUTH, GROUPS, config, fake, owner_of, start, step

__all__ = ["fake"]


async def report(client: TestClient, bid: int) -> dict[str, Any]:
    r = await client.get(f"/api/broadcasts/{bid}", headers=AUTH)
    assert r.status == 200
    body: dict[str, Any] = await r.json()
    return body


def states(rep: dict[str, Any]) -> dict[str, str]:
    return {g["group_id"]: g["state"] for g in rep["groups"]}


async def test_official_broadcast_one_task_per_owner_then_results_and_cancel(
    fake: FakeWeCom,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await start(make_harness, fake, config(fake, []))
    client = await aiohttp_client(create_app(h.bot))
    body = {"targets": ["all"], "text": "双十二预告：{date} 全场满减", "official": True}
    r = await client.post("/api/broadcasts", json=body, headers=AUTH)
    assert r.status == 201, await r.text()
    bid = (await r.json())["id"]
    await step(h.bot, h.clock, 1)
    assert set(states(await report(client, bid)).values()) == {"waiting_owner"}
    await step(h.bot, h.clock, 30)
    assert len(fake.groupmsg.tasks) == 3
    assert {o: sorted(c) for o, c in fake.groupmsg.by_sender().items()} == {
        o: sorted(g for g in GROUPS if owner_of(g) == o) for o in ("staff0", "staff1", "staff2")
    }
    m1 = next(m for m, t in fake.groupmsg.tasks.items() if t["sender"] == "staff1")
    fake.groupmsg.owner_sends(m1, already={"wrC04"})
    await step(h.bot, h.clock, 300)
    rep = await report(client, bid)
    st = states(rep)
    assert st["wrC01"] == "sent" and st["wrC04"] == "already_received"
    assert st["wrC00"] == "waiting_owner"
    assert rep["counts"]["sent"] == 9 and rep["counts"]["already_received"] == 1
    assert rep["status"] == "sending"
    page = await (await client.get(f"/admin/broadcasts/{bid}", headers=AUTH)).text()
    assert 'data-state="already_received"' in page and "已收到其他群发" in page
    assert "待群主发送" in page

    r = await client.delete(f"/api/broadcasts/{bid}", headers=AUTH)
    assert r.status == 200
    await step(h.bot, h.clock, 5)
    cancelled = {t["sender"]: t["cancelled"] for t in fake.groupmsg.tasks.values()}
    assert cancelled == {"staff0": True, "staff1": False, "staff2": True}  # staff1's settled
    rep = await report(client, bid)
    assert states(rep)["wrC00"] == "cancelled" and states(rep)["wrC01"] == "sent"
    assert rep["status"] == "cancelled"


def test_the_compose_form_asks_for_official() -> None:
    from zoneinfo import ZoneInfo

    from handlers.broadcast.page import form_data

    tz = ZoneInfo("Asia/Shanghai")
    assert form_data({"text": "x", "official": "1"}, ["all"], tz)["official"] is True
    assert "official" not in form_data({"text": "x"}, ["all"], tz)


async def test_plain_broadcast_reminds_each_owner_and_official_refuses_group_names(
    fake: FakeWeCom,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await start(make_harness, fake, config(fake, []))
    client = await aiohttp_client(create_app(h.bot))
    bad = {"targets": ["all"], "text": "{group} 的朋友们好", "official": True}
    r = await client.post("/api/broadcasts", json=bad, headers=AUTH)
    assert r.status == 400 and (await r.json())["field"] == "text"
    r = await client.post("/api/broadcasts", json={**bad, "official": "yes"}, headers=AUTH)
    assert r.status == 400 and (await r.json())["field"] == "official"
    r = await client.post(
        "/api/broadcasts", json={"targets": ["all"], "text": "{group} 的朋友们好"}, headers=AUTH
    )
    bid = (await r.json())["id"]
    await step(h.bot, h.clock, 1)
    assert not fake.groupmsg.tasks
    got = {m["touser"]: 0 for m in fake.groupmsg.app_messages}
    for m in fake.groupmsg.app_messages:
        gid = m["text"]["content"].split("客户群")[2][:5]
        assert m["touser"] == owner_of(gid) and f"客户群{gid} 的朋友们好" in m["text"]["content"]
        got[m["touser"]] += 1
    assert got == {"staff0": 10, "staff1": 10, "staff2": 10}
    assert set(states(await report(client, bid)).values()) == {"reminded"}


IMAGE = "https://img.example.com/poster.png"


async def test_an_image_goes_to_customer_groups_as_a_link_never_downloaded(
    fake: FakeWeCom,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await start(make_harness, fake, config(fake, []))
    client = await aiohttp_client(create_app(h.bot))
    body = {"targets": ["all"], "text": "新品海报", "image": IMAGE, "official": True}
    r = await client.post("/api/broadcasts", json=body, headers=AUTH)
    assert r.status == 201, await r.text()
    await step(h.bot, h.clock, 1)
    await step(h.bot, h.clock, 30)
    assert len(fake.groupmsg.tasks) == 3
    link = {"title": "新品海报", "picurl": IMAGE, "url": IMAGE}
    for t in fake.groupmsg.tasks.values():
        assert t["text"] == "新品海报"
        assert t["attachments"] == [{"msgtype": "link", "link": link}]
    assert fake.groupmsg.uploads == []  # the picture is WeCom's to fetch, never ours
    # an image alone: the link is titled 图片; without official, the owner is reminded with it
    alone = {"targets": ["group:wrC00"], "image": IMAGE}
    r = await client.post("/api/broadcasts", json=alone, headers=AUTH)
    assert r.status == 201, await r.text()
    bid = (await r.json())["id"]
    await step(h.bot, h.clock, 1)
    (msg,) = [m for m in fake.groupmsg.app_messages if IMAGE in m["text"]["content"]]
    assert msg["touser"] == owner_of("wrC00")
    assert states(await report(client, bid)) == {"wrC00": "reminded"}
