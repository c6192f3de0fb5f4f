"""A 活码 campaign backed by one WeCom 加入群聊 code, against the local fake WeCom API: made
once (config_id recorded, no second code on later rounds or after a failed read), updated
when the campaign's groups change, its QR shown by /j/{campaign}, the console API and
``groupbot entry show``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.web.app import create_app
from handlers.entry.joinway import round_job
from storage.models_entry import EntryCandidate, EntryGroup
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness

AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
AUTH = {"Authorization": "Bearer test-api-token"}
CHATS = ["wrA", "wrB", "wrC"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as f:
        for c in [*CHATS, "wrD"]:
            f.customer.add_chat(c, name=f"宝妈福利群{c}")
        yield f


def config(fake: FakeWeCom) -> dict[str, Any]:
    return {
        "wecom": {
            "corp_id": "wwcorp",
            "token": "apptoken",
            "encoding_aes_key": AES,
            "secret": "corp-secret",
            "api_base": fake.url,
            "sync": {"welcome_template": False, "reconcile_on_start": False},
        },
        "groups": [{"id": c, "platform": "wecom", "name": c, "tags": ["宝妈"]} for c in CHATS],
        "entry": [
            {
                "id": "mama",
                "title": "宝妈福利群",
                "groups": CHATS,
                "wecom": {"room_base_name": "宝妈福利群", "room_base_id": 4},
            }
        ],
    }


@pytest.fixture
async def setup(
    fake: FakeWeCom,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> tuple[Harness, TestClient]:
    h = await make_harness(config(fake))
    h.bot.workers = True  # (the job serves only where workers run)
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def test_join_way_made_once_updated_and_shown(
    setup: tuple[Harness, TestClient], fake: FakeWeCom, tmp_path: Path
) -> None:
    h, client = setup
    fake.customer.errcodes["groupchat/get_join_way"] = [-1]  # busy: the read fails once
    await round_job(h.bot)
    assert fake.customer.count("add_join_way") == 1
    ((cfg, way),) = fake.customer.join_ways.items()
    assert way["scene"] == 2 and way["auto_create_room"] == 1
    assert way["chat_id_list"] == CHATS and way["room_base_name"] == "宝妈福利群"
    assert way["room_base_id"] == 4 and way["state"] == "entry:mama"
    r = await client.get("/j/mama")
    assert "wework.qpic.cn" not in await r.text()  # not ready yet: the groups' own QRs
    await round_job(h.bot)
    await round_job(h.bot)
    assert fake.customer.count("add_join_way") == 1, "made once, never again"
    assert fake.customer.count("update_join_way") == 0
    html = await (await client.get("/j/mama")).text()
    assert f'src="https://wework.qpic.cn/wwpic/{cfg}.png"' in html
    data = await (await client.get("/api/entry", headers=AUTH)).json()
    w = data["campaigns"][0]["wecom"]
    assert (w["config_id"], w["status"]) == (cfg, "ready") and w["chat_ids"] == CHATS

    async with h.bot.db.transaction() as s:  # a group joins the campaign (WeCom opened it)
        s.add(
            EntryGroup(
                group_id="wrD", campaign_id="mama", name="宝妈福利群4", added_at=h.clock.now()
            )
        )
    await round_job(h.bot)
    assert fake.customer.count("update_join_way") == 1
    assert fake.customer.join_ways[cfg]["chat_id_list"] == [*CHATS, "wrD"]
    await round_job(h.bot)
    assert fake.customer.count("update_join_way") == 1 and fake.customer.count("add_join_way") == 1


async def test_entry_show_prints_the_config_id(
    setup: tuple[Harness, TestClient], fake: FakeWeCom, capsys: pytest.CaptureFixture[str]
) -> None:
    h, _ = setup
    await round_job(h.bot)
    from bot.cli import main
    from handlers import FEATURES

    ((cfg, _),) = fake.customer.join_ways.items()
    path = Path(str(h.bot.config.storage.url).split("///")[-1]).parent / "c.toml"
    if not str(h.bot.config.storage.url).startswith("sqlite"):
        pytest.skip("the CLI test writes a SQLite config")
    lines = [f'[storage]\nurl = "{h.bot.config.storage.url}"\n']
    lines.append('[wecom]\ncorp_id = "wwcorp"\nsecret = "corp-secret"\n')
    for c in CHATS:
        lines.append(f'[[groups]]\nid = "{c}"\nplatform = "wecom"\n')
    lines.append('[[entry]]\nid = "mama"\ntitle = "宝妈福利群"\ngroups = ["wrA", "wrB", "wrC"]\n')
    lines.append('[entry.wecom]\nroom_base_name = "宝妈福利群"\n')
    path.write_text("\n".join(lines), encoding="utf-8")
    async with h.bot.db.transaction() as s:  # a created group WeCom told about, not ours
        now = h.clock.now()
        s.add(EntryCandidate(chat_id="wrX", status="unrelated", seen_at=now, updated_at=now))
    argv = ["entry", "show", "-c", str(path)]
    assert await asyncio.to_thread(main, argv, FEATURES, "groupbot") == 0
    out = capsys.readouterr().out
    assert f"config_id {cfg}" in out and "status ready" in out and "/j/mama" in out
    assert "created groups" in out and "  wrX\tunrelated" in out
