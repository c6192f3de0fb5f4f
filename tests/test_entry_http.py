"""活码 entry over real HTTP: ``/j/{campaign}`` never shows a full group and counts visits;
all full → the configured message and one alert per window; the console's uploads are
checked (PNG/JPEG, size, https links, anti-forgery); QRs are warned about a day before they
expire, once per upload; joins after a visit are counted."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.web.app import create_app
from storage.models_entry import EntryQr, EntryVisit
from tests.harness import Harness

TOKEN = "test-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GROUPS = [
    {"id": "g1", "name": "宝妈一群", "admins": ["gadmin"]},
    {"id": "g2", "name": "宝妈二群"},
    {"id": "g3", "name": "宝妈三群"},
]
ENTRY = [
    {
        "id": "mama",
        "title": "宝妈<b>福利</b>群",
        "groups": ["g1", "g2", "g3"],
        "capacity": 2,
        "full_message": "群都满啦 <script>x</script> {title}",
        "alert_minutes": 60,
    }
]
Setup = tuple[Harness, TestClient]


def png(tag: bytes) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + tag * 8


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> Setup:
    h = await make_harness({"groups": GROUPS, "entry": ENTRY})
    client = await aiohttp_client(create_app(h.bot, manage=False))
    return h, client


async def upload(client: TestClient, gid: str, data: bytes, ctype: str = "image/png") -> int:
    r = await client.put(
        f"/api/entry/mama/groups/{gid}/qr", data=data, headers={**AUTH, "Content-Type": ctype}
    )
    return r.status


def shown(html: str) -> bytes | None:
    m = re.search(r'src="data:image/png;base64,([^"]+)"', html)
    return base64.b64decode(m.group(1)) if m else None


async def visits(h: Harness) -> dict[str, int]:
    async with h.bot.db.read() as s:
        q = select(EntryVisit.group_id, func.sum(EntryVisit.visits)).group_by(EntryVisit.group_id)
        return {g: int(n) for g, n in (await s.execute(q)).all()}


async def fill(h: Harness, gid: str, n: int = 2) -> None:
    for i in range(n):
        await h.join(f"{gid}-m{i}", group=gid)


async def test_never_shows_a_full_group_and_counts_visits(setup: Setup) -> None:
    h, client = setup
    for gid in ("g1", "g2", "g3"):
        assert await upload(client, gid, png(gid.encode())) == 200
    r = await client.get("/j/mama")
    assert r.status == 200 and shown(await r.text()) == png(b"g1")
    assert r.headers["Cache-Control"] == "no-store"
    assert "script-src" not in r.headers["Content-Security-Policy"]
    await fill(h, "g1")  # g1 reaches its capacity (2)
    for _ in range(3):
        html = await (await client.get("/j/mama")).text()
        assert shown(html) == png(b"g2"), "a full group is never shown"
        assert "宝妈<b>" not in html and "宝妈&lt;b&gt;福利&lt;/b&gt;群" in html
    assert (await client.head("/j/mama")).status == 200  # HEAD counts nothing
    assert await visits(h) == {"g1": 1, "g2": 3}
    await fill(h, "g2")
    await h.leave("g1-m0", group="g1")  # room again in g1: the first group with room wins
    assert shown(await (await client.get("/j/mama")).text()) == png(b"g1")
    async with h.bot.db.read() as s:  # one row per group and day, not per visit
        assert await s.scalar(select(func.count()).select_from(EntryVisit)) == 2


async def test_all_full_shows_the_message_and_alerts_once(setup: Setup) -> None:
    h, client = setup
    for gid in ("g1", "g2", "g3"):
        assert await upload(client, gid, png(gid.encode())) == 200
        await fill(h, gid)
    h.new_lines()
    for _ in range(5):
        r = await client.get("/j/mama")
        html = await r.text()
        assert r.status == 200 and shown(html) is None
        assert "群都满啦 &lt;script&gt;x&lt;/script&gt; 宝妈&lt;b&gt;福利&lt;/b&gt;群" in html
    await h.bot.drain()
    alerts = [ln for ln in h.new_lines() if "都已满员" in ln]
    assert len(alerts) == 2  # once, to each admin (gadmin and root), not once per visit
    assert await visits(h) == {"": 5}
    await h.advance(minutes=61)  # the next window: one more alert
    await client.get("/j/mama")
    await h.bot.drain()
    assert len([ln for ln in h.new_lines() if "都已满员" in ln]) == 2


async def test_room_without_a_usable_qr_alerts_admins(setup: Setup) -> None:
    h, client = setup
    assert await upload(client, "g1", png(b"g1")) == 200
    await fill(h, "g1")
    html = await (await client.get("/j/mama")).text()
    assert shown(html) is None and "群都满啦" in html
    await h.bot.drain()
    assert any("没有可用的二维码" in ln for ln in h.new_lines())


async def test_unknown_campaign_is_a_plain_404(setup: Setup) -> None:
    _, client = setup
    a, b = await client.get("/j/nope"), await client.get("/j/mama2")
    assert a.status == b.status == 404
    assert await a.text() == await b.text()
    assert "mama" not in await a.text()
    assert (await client.get("/j/..%2Fadmin")).status == 404


async def test_uploads_are_checked(setup: Setup) -> None:
    h, client = setup
    assert await upload(client, "g1", b"GIF89a" + b"x" * 50, "image/png") == 400
    assert await upload(client, "g1", png(b"x") * 70_000) in (400, 413)
    assert await upload(client, "g1", b"\xff\xd8\xff" + b"j" * 20, "image/jpeg") == 200
    assert await upload(client, "g9", png(b"x")) == 404
    bad = {"link": "javascript:alert(1)"}
    r = await client.put("/api/entry/mama/groups/g2/qr", json=bad, headers=AUTH)
    assert r.status == 400
    good = {"link": "https://work.weixin.qq.com/gm/abc", "expires_days": 0}
    r = await client.put("/api/entry/mama/groups/g2/qr", json=good, headers=AUTH)
    assert r.status == 200
    data = await (await client.get("/api/entry", headers=AUTH)).json()
    groups = {g["id"]: g for g in data["campaigns"][0]["groups"]}
    assert groups["g1"]["qr"]["kind"] == "image" and groups["g1"]["qr"]["expires_at"]
    assert groups["g2"]["qr"] == {**groups["g2"]["qr"], "kind": "link", "expires_at": None}
    assert groups["g3"]["qr"] is None
    assert (await client.get("/api/entry")).status == 401  # the console needs the token
    await fill(h, "g1")
    html = await (await client.get("/j/mama")).text()
    assert 'href="https://work.weixin.qq.com/gm/abc"' in html


async def test_console_form_upload_needs_the_anti_forgery_field(setup: Setup) -> None:
    h, client = setup
    r = await client.get(f"/admin/entry?token={TOKEN}", allow_redirects=False)
    assert r.status == 303
    html = await (await client.get("/admin/entry")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    assert csrf and "宝妈&lt;b&gt;福利&lt;/b&gt;群" in html
    r = await client.post(
        "/admin/entry/mama/g1/qr", data={"do": "link", "link": "https://a.example/x"}
    )
    assert r.status == 403
    r = await client.post(
        "/admin/entry/mama/g1/qr",
        data={"csrf": csrf.group(1), "do": "image", "image": io.BytesIO(png(b"form"))},
        allow_redirects=False,
    )
    assert r.status == 303
    r = await client.post(
        "/admin/entry/mama/g2/qr",
        data={"csrf": csrf.group(1), "do": "image", "image": io.BytesIO(b"<svg/>")},
    )
    assert r.status == 400 and "PNG" in await r.text()
    async with h.bot.db.read() as s:
        assert [q.group_id for q in (await s.scalars(select(EntryQr))).all()] == ["g1"]


async def test_expiry_warning_once_per_upload_and_expired_qr_not_shown(setup: Setup) -> None:
    h, client = setup
    assert await upload(client, "g1", png(b"g1")) == 200
    assert await upload(client, "g2", png(b"g2")) == 200
    await h.advance(days=6, hours=1)  # 23 hours left
    said = await h.run_jobs()
    assert len([ln for ln in said if "过期" in ln]) == 4  # g1 and g2, to two admins each
    h.clock.advance(600)
    assert not [ln for ln in await h.run_jobs() if "过期" in ln]
    assert await upload(client, "g2", png(b"g2b")) == 200  # renewed: no warning yet
    await h.advance(days=1, hours=1)  # g1 has expired now
    assert shown(await (await client.get("/j/mama")).text()) == png(b"g2b")


async def test_joins_after_a_visit_are_counted(setup: Setup) -> None:
    h, client = setup
    assert await upload(client, "g1", png(b"g1")) == 200
    await h.join("early", group="g1")  # before any visit: not the campaign's
    await client.get("/j/mama")
    await h.advance(minutes=10)
    await h.join("newcomer", group="g1")
    await h.advance(minutes=120)
    await h.join("late", group="g1")  # long after the last visit
    data = await (await client.get("/api/entry", headers=AUTH)).json()
    g1 = data["campaigns"][0]["groups"][0]
    assert (g1["visits_7d"], g1["joins_7d"]) == (1, 1)
