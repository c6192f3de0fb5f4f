"""节目编辑 (``/admin/programme``) over real HTTP as a signed-in operator: slots added to a
group or to every group of a tag are the same rows ``/加节目`` writes, checked the same way
(a bad template or a quiet-hours time is refused in Chinese, nothing stored), paused, resumed
and removed, each change audited with the staff member's name, and the week preview shows
them; a viewer's POST and a form without the anti-forgery value change nothing."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.web.app import create_app
from storage.models import AuditEntry
from storage.models_programme import ProgrammeCustomSlot, ProgrammePause
from tests.harness import Harness
from tests.staffkit import add_staff, csrf, sign_in

MakeHarness = Callable[..., Awaitable[Harness]]
Client = Callable[..., Awaitable[TestClient]]
PATH = "/admin/programme"
GROUPS = [
    {"id": "g1", "name": "宝妈一群", "tags": ["宝妈"], "admins": ["gadmin"]},
    {"id": "g2", "name": "宝妈二群", "tags": ["宝妈"], "programme": {"quiet_hours": "22:00-07:00"}},
    {"id": "g3", "name": "VIP群", "tags": ["VIP"]},
]
CONFIG_SLOT = {
    "id": "benefit",
    "days": ["fri"],
    "time": "10:00",
    "theme": "福利日",
    "content": "今天是{weekday}",
    "targets": ["tag:宝妈"],
}


@pytest.fixture
async def h(make_harness: MakeHarness) -> Harness:
    h = await make_harness({"groups": GROUPS, "programme": {"slots": [CONFIG_SLOT]}})
    await add_staff(h, "ann", "operator")
    await add_staff(h, "vic", "viewer")
    return h


async def stored(h: Harness) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    async with h.bot.db.read() as s:
        slots = (
            await s.execute(
                select(
                    ProgrammeCustomSlot.group_id,
                    ProgrammeCustomSlot.slot_id,
                    ProgrammeCustomSlot.time,
                ).order_by(ProgrammeCustomSlot.group_id)
            )
        ).all()
        pauses = (await s.execute(select(ProgrammePause.group_id, ProgrammePause.slot_id))).all()
    return [tuple(r) for r in slots], sorted(tuple(r) for r in pauses)  # type: ignore[misc]


async def post(client: TestClient, **fields: str) -> tuple[int, str, str]:
    r = await client.post(PATH, data=fields, allow_redirects=False)
    return r.status, r.headers.get("Location", ""), await r.text()


def week_rows(html: str) -> list[tuple[str, str]]:
    """(group, slot) of each row of the week preview."""
    grid = html.split('data-table="week"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<td>[^<]*</td><td>([^<]+)</td><td>([^<]+)</td>", grid)


async def test_add_to_a_tag_then_pause_resume_remove(h: Harness, aiohttp_client: Client) -> None:
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    token = await csrf(client, f"{PATH}?target=tag:宝妈")
    status, where, _ = await post(
        client,
        csrf=token,
        target="tag:宝妈",
        do="add",
        days="周三,周四",
        time="12:00",
        theme="午间秒杀",
        content="{group}的秒杀开始啦",
    )
    assert status == 303 and "done=add" in where
    assert (await stored(h))[0] == [("g1", "午间秒杀", "12:00"), ("g2", "午间秒杀", "12:00")]
    html = await (await client.get(where)).text()
    assert 'data-done="add"' in html and "已添加节目「午间秒杀」" in html
    rows = week_rows(html)
    # Wednesday 10:00 now: this week's Wednesday and Thursday 12:00, and Friday's config slot
    assert rows.count(("g1", "午间秒杀")) == 2 and rows.count(("g2", "午间秒杀")) == 2
    assert ("g1", "福利日") in rows and all(g != "g3" for g, _ in rows)
    # the chat command sees the same slot
    assert (
        "已有名为「午间秒杀」" in (await h.say("gadmin", "/加节目 周五 12:00 午间秒杀 又一个"))[0]
    )

    status, _, _ = await post(client, csrf=token, target="group:g1", do="pause", slot="午间秒杀")
    assert status == 303 and (await stored(h))[1] == [("g1", "午间秒杀")]
    html = await (await client.get(f"{PATH}?target=tag:宝妈")).text()
    assert ("g1", "午间秒杀") not in week_rows(html) and ("g2", "午间秒杀") in week_rows(html)
    status, _, _ = await post(client, csrf=token, target="group:g1", do="resume", slot="午间秒杀")
    assert status == 303 and (await stored(h))[1] == []
    status, _, html = await post(client, csrf=token, target="group:g1", do="remove", slot="benefit")
    assert status == 400 and "配置文件里的节目不能删除" in html
    status, _, _ = await post(client, csrf=token, target="tag:宝妈", do="remove", slot="午间秒杀")
    assert status == 303 and await stored(h) == ([], [])

    async with h.bot.db.read() as s:
        audit = (
            await s.execute(
                select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.group_id)
                .where(AuditEntry.actor_id == "staff:ann")
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [tuple(a) for a in audit] == [
        ("staff:ann", "programme.add", "g1"),
        ("staff:ann", "programme.add", "g2"),
        ("staff:ann", "programme.pause", "g1"),
        ("staff:ann", "programme.resume", "g1"),
        ("staff:ann", "programme.remove", "g1"),
        ("staff:ann", "programme.remove", "g2"),
    ]
    changes = await (await client.get("/admin/changes")).text()
    assert changes.count("programme.add") == 2


async def test_refusals_store_nothing(h: Harness, aiohttp_client: Client) -> None:
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(client, "ann")
    token = await csrf(client, PATH)
    base = {"csrf": token, "do": "add", "days": "周三", "theme": "晚安"}
    # a template with an unknown field or a format: refused in Chinese, the form kept
    status, _, html = await post(
        client, **base, target="group:g1", time="20:00", content="{group.__class__}晚安"
    )
    assert status == 400 and "节目内容只能用" in html and "{group.__class__}晚安" in html
    status, _, html = await post(client, **base, target="group:g1", time="25:00", content="晚安")
    assert status == 400 and "时间要写成 HH:MM" in html
    # 23:00 is inside g2's quiet hours: refused for the whole tag, g1 included
    status, _, html = await post(client, **base, target="tag:宝妈", time="23:00", content="晚安")
    assert status == 400 and "群 g2" in html and "免打扰" in html
    status, _, html = await post(client, **base, target="tag:nobody", time="20:00", content="x")
    assert status == 400
    assert await stored(h) == ([], [])


async def test_viewer_and_forged_forms_change_nothing(h: Harness, aiohttp_client: Client) -> None:
    viewer = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(viewer, "vic")
    token = await csrf(viewer, PATH)  # a viewer sees the page and its preview
    fields = {
        "target": "group:g1",
        "do": "add",
        "days": "周三",
        "time": "12:00",
        "theme": "秒杀",
        "content": "开始",
    }
    assert (await post(viewer, csrf=token, **fields))[0] == 403
    operator = await aiohttp_client(create_app(h.bot, manage=False))
    await sign_in(operator, "ann")
    assert (await post(operator, **fields))[0] == 403  # no anti-forgery value
    assert (await post(operator, csrf=token, **fields))[0] == 403  # the viewer's
    assert await stored(h) == ([], [])
