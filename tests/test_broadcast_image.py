"""Image broadcasts over real HTTP: ``"image": "https://…"`` checked and refused with nothing
stored when it is not a plain https URL on a domain name; sent after its caption as an image
segment to the fake OneBot bridge and as a news card to a WeCom robot (fake WeCom API), once
per group across a fan-out run again; the report lists each group's parts; the page previews
the URL escaped, as a link."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from bot.web.app import create_app
from handlers.broadcast.fanout import queue_due
from storage.models import OutboxMessage
from storage.models_broadcast import Broadcast, BroadcastGroup
from tests.fakes.onebot_bridge import FakeOneBot
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness

AUTH = {"Authorization": "Bearer test-api-token"}
URL = "https://img.example.com/poster/双十二.png?v=1&x=<b>"
GROUPS = [
    {"id": "30001", "platform": "onebot", "name": "宝妈一群", "tags": ["宝妈"]},
    {"id": "30002", "platform": "onebot", "name": "宝妈二群", "tags": ["宝妈"]},
    {"id": "30003", "platform": "onebot", "name": "VIP群", "tags": ["VIP"]},
    {"id": "wx01", "platform": "wecom", "name": "企微群", "tags": ["宝妈"], "webhook_key": "K1"},
]
Setup = tuple[Harness, TestClient, FakeWeCom]


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> Any:
    async with FakeWeCom() as wecom:
        h = await make_harness(
            {
                "onebot": {"secret": "s", "api_url": bridge.url, "access_token": "bridge-token"},
                "wecom": {"api_base": wecom.url},
                "groups": GROUPS,
            }
        )
        yield h, await aiohttp_client(create_app(h.bot, manage=False)), wecom


async def send(client: TestClient, body: dict[str, Any], **headers: str) -> Any:
    r = await client.post("/api/broadcasts", json=body, headers={**AUTH, **headers})
    return r.status, await r.json()


async def report(client: TestClient, bid: int) -> dict[str, Any]:
    r = await client.get(f"/api/broadcasts/{bid}", headers=AUTH)
    assert r.status == 200
    body: dict[str, Any] = await r.json()
    return body


def onebot_messages(bridge: FakeOneBot, gid: str) -> list[list[dict[str, Any]]]:
    return [
        p["message"] for a, p in bridge.calls if a == "send_group_msg" and str(p["group_id"]) == gid
    ]


async def stored(h: Harness) -> tuple[int, int, int]:
    async with h.bot.db.read() as s:
        return (
            int(await s.scalar(select(func.count()).select_from(Broadcast)) or 0),
            int(await s.scalar(select(func.count()).select_from(BroadcastGroup)) or 0),
            int(await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0),
        )


async def test_caption_then_image_to_each_tagged_group_once_and_the_report_shows_parts(
    setup: Setup, bridge: FakeOneBot
) -> None:
    h, client, wecom = setup
    status, body = await send(
        client, {"targets": ["tag:宝妈"], "text": "{group}：新品海报", "image": URL}
    )
    assert status == 201 and body["groups"] == 3
    await h.bot.drain()
    # a fan-out run again (the claims lost, as after a crash) queues nothing twice
    async with h.bot.db.transaction() as s:
        await s.execute(update(BroadcastGroup).values(state="scheduled"))
        await s.execute(update(Broadcast).values(status="scheduled"))
    await queue_due(h.bot)
    await h.bot.drain()
    for gid, name in (("30001", "宝妈一群"), ("30002", "宝妈二群")):
        assert onebot_messages(bridge, gid) == [
            [{"type": "text", "data": {"text": f"{name}：新品海报"}}],
            [{"type": "image", "data": {"file": URL}}],
        ]
    assert onebot_messages(bridge, "30003") == []
    robot = [b for k, b, _ in wecom.webhook_calls if k == "K1"]
    assert robot == [
        {"msgtype": "text", "text": {"content": "企微群：新品海报"}},
        {"msgtype": "news", "news": {"articles": [{"title": "图片", "url": URL, "picurl": URL}]}},
    ]
    rep = await report(client, body["id"])
    assert rep["image"] == URL and rep["status"] == "done"
    parts = [{"kind": "text", "status": "sent"}, {"kind": "image", "status": "sent"}]
    assert {g["group_id"]: (g["state"], g["parts"]) for g in rep["groups"]} == {
        gid: ("sent", parts) for gid in ("30001", "30002", "wx01")
    }
    async with h.bot.db.read() as s:
        keys = (await s.scalars(select(OutboxMessage.idem_key).order_by(OutboxMessage.id))).all()
    bid = body["id"]
    assert sorted(k for k in keys if k.endswith(":img")) == [
        f"bc:{bid}:{g}:img" for g in ("30001", "30002", "wx01")
    ]


async def test_an_image_alone_and_a_failing_image_part_is_reported(
    setup: Setup, bridge: FakeOneBot
) -> None:
    h, client, _wecom = setup
    bridge.retcode_next(1, 1400)  # the bridge refuses the image: the part is dead, with why
    status, body = await send(client, {"targets": ["group:30003"], "image": URL})
    assert status == 201
    await h.bot.drain()
    rep = await report(client, body["id"])
    (line,) = rep["groups"]
    assert line["state"] == "dead" and "1400" in line["reason"]
    assert line["parts"] == [{"kind": "image", "status": "dead"}]
    assert rep["text"] == "" and rep["action"] == "image"
    status, body = await send(client, {"targets": ["group:30003"], "image": URL})
    await h.bot.drain()
    assert onebot_messages(bridge, "30003") == [[{"type": "image", "data": {"file": URL}}]]
    assert (await report(client, body["id"]))["groups"][0]["state"] == "sent"


@pytest.mark.parametrize(
    "image",
    [
        "http://img.example.com/a.png",
        "https://127.0.0.1/a.png",
        "https://2130706433/a.png",
        "https://0x7f.1/a.png",
        "https://[::1]/a.png",
        "https://localhost/a.png",
        "https://user:pw@img.example.com/a.png",
        "https://img.example.com@evil.example.com/a.png",
        "https://img.example.com/" + "a" * 1000,
        "https://img.example.com/a b.png",
        "ftp://img.example.com/a.png",
        "",
        123,
        None,
        ["https://img.example.com/a.png"],
    ],
)
async def test_bad_image_urls_are_refused_naming_the_field_with_nothing_stored(
    setup: Setup, image: Any
) -> None:
    h, client, _wecom = setup
    status, body = await send(client, {"targets": ["all"], "text": "看图", "image": image})
    assert status == 400 and body["field"] == "image", body
    assert await stored(h) == (0, 0, 0)


async def test_text_rules_still_hold_and_the_key_covers_the_image(setup: Setup) -> None:
    h, client, _wecom = setup
    both = {"targets": ["all"], "text": "a", "markdown": "b", "image": URL}
    status, body = await send(client, both)
    assert status == 400 and body["field"] == "text"
    status, body = await send(client, {"targets": ["all"]})
    assert status == 400 and body["field"] == "text"
    assert await stored(h) == (0, 0, 0)
    first = {"targets": ["group:30001"], "image": URL}
    status, body = await send(client, first, **{"Idempotency-Key": "k1"})
    assert status == 201
    again = await send(client, first, **{"Idempotency-Key": "k1"})
    assert again == (201, body)
    other = {"targets": ["group:30001"], "image": URL + "&v=2"}
    status, _ = await send(client, other, **{"Idempotency-Key": "k1"})
    assert status == 409


async def test_preview_and_page_show_the_url_escaped_and_as_a_link(setup: Setup) -> None:
    h, client, _wecom = setup
    r = await client.post(
        "/api/broadcasts/preview",
        json={"targets": ["group:30001"], "text": "看{group}", "image": URL},
        headers=AUTH,
    )
    assert (await r.json())["groups"] == [
        {"group_id": "30001", "name": "宝妈一群", "text": "看宝妈一群", "image": URL}
    ]
    from handlers.broadcast.page import form_data, previewed

    assert "<b>" not in previewed([{"group_id": "g", "name": "n", "text": "", "image": URL}])
    assert "&lt;b&gt;" in previewed([{"group_id": "g", "name": "n", "text": "", "image": URL}])
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    assert form_data({"text": "", "image": URL}, ["all"], tz) == {"targets": ["all"], "image": URL}
    assert form_data({"text": "说明", "image": URL}, ["all"], tz)["text"] == "说明"
    page = await (await client.get("/admin/broadcasts", headers=AUTH)).text()
    assert 'name="image"' in page
    _, body = await send(client, {"targets": ["group:30001"], "text": "x", "image": URL})
    await h.bot.drain()
    page = await (await client.get(f"/admin/broadcasts/{body['id']}", headers=AUTH)).text()
    assert 'href="https://img.example.com/poster/双十二.png?v=1&amp;x=&lt;b&gt;"' in page
    assert "文字已发送 图片已发送" in page


def test_the_link_attachment_is_titled_by_the_caption_or_图片() -> None:
    from handlers.broadcast.fanout import link_attachment

    assert link_attachment("", URL) == [{"link": {"title": "图片", "picurl": URL, "url": URL}}]
    assert link_attachment("新品\n海报", URL)[0]["link"]["title"] == "新品 海报"
