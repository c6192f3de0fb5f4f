"""活码 QR changes are audited: an upload, a link and a delete from the console's 活码 page are
audit rows with the staff member's name (listed on 最近修改), the same through the API with
actor ``api``; a refused upload and a delete of nothing write no row."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.web.app import create_app
from storage.models import AuditEntry
from tests.harness import Harness
from tests.staffkit import add_staff, csrf, sign_in

AUTH = {"Authorization": "Bearer test-api-token"}
CONFIG = {
    "groups": [{"id": "g1", "name": "宝妈一群"}, {"id": "g2", "name": "宝妈二群"}],
    "entry": [{"id": "mama", "title": "宝妈群", "groups": ["g1", "g2"], "capacity": 2}],
}


def png(tag: bytes) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + tag * 8


async def audit(h: Harness) -> list[tuple[str, str, str, str | None, dict[str, object]]]:
    async with h.bot.db.read() as s:
        rows = await s.execute(
            select(
                AuditEntry.actor_id,
                AuditEntry.action,
                AuditEntry.target_id,
                AuditEntry.group_id,
                AuditEntry.detail,
            )
            .where(AuditEntry.action.like("entry.%"))
            .order_by(AuditEntry.id)
        )
        return [(a, b, c, d, dict(e)) for a, b, c, d, e in rows.all()]


async def test_qr_changes_are_audited_with_who(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await make_harness(CONFIG)
    await add_staff(h, "ann", "operator")
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    token = await csrf(client, "/admin/entry")
    page = "/admin/entry/mama/{}/qr"
    sent = {"csrf": token, "do": "image", "image": io.BytesIO(png(b"qr"))}
    r = await client.post(page.format("g1"), data=sent, allow_redirects=False)
    assert r.status == 303
    bad = {"csrf": token, "do": "image", "image": io.BytesIO(b"<svg/>")}
    assert (await client.post(page.format("g2"), data=bad)).status == 400
    link = {"csrf": token, "do": "link", "link": "https://a.example/x", "expires_days": "3"}
    r = await client.post(page.format("g2"), data=link, allow_redirects=False)
    assert r.status == 303
    r = await client.post(page.format("g1"), data={"csrf": token, "do": "delete"})
    assert r.status in (200, 303)
    r = await client.post(page.format("g1"), data={"csrf": token, "do": "delete"})  # nothing
    rows = await audit(h)
    assert [(a, b, c, d) for a, b, c, d, _ in rows] == [
        ("staff:ann", "entry.qr_upload", "mama", "g1"),
        ("staff:ann", "entry.qr_link", "mama", "g2"),
        ("staff:ann", "entry.qr_delete", "mama", "g1"),
    ]
    assert rows[0][4]["bytes"] == len(png(b"qr")) and rows[0][4]["expires_at"]
    assert rows[1][4]["link"] == "https://a.example/x"
    changes = await (await client.get("/admin/changes")).text()
    assert "entry.qr_upload" in changes and "ann" in changes

    api = await aiohttp_client(create_app(h.bot, manage=False))
    path = "/api/entry/mama/groups/g1/qr"
    headers = {**AUTH, "Content-Type": "image/png"}
    assert (await api.put(path, data=png(b"api"), headers=headers)).status == 200
    assert (await api.delete(path, headers=AUTH)).status == 200
    assert [(a, b) for a, b, *_ in (await audit(h))[3:]] == [
        ("api", "entry.qr_upload"),
        ("api", "entry.qr_delete"),
    ]
