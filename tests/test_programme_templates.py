"""Operator and chat text is data: slot content and template overrides may only name fields.
Played through the real HTTP path (signed ``POST /onebot``, replies at a fake bridge)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.config import ConfigError, parse_config
from bot.outbox.queue import MAX_PARTS
from bot.web.app import create_app
from handlers import FEATURES
from handlers.app import main
from storage.models_programme import ProgrammeCustomSlot
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness
from tests.test_http_onebot import SECRET, group_message, post

ATTACK = "/加节目 daily 12:00 x {theme:x>300000}"


@pytest.fixture
async def bridge() -> AsyncIterator[FakeOneBot]:
    async with FakeOneBot() as b:
        yield b


@pytest.fixture
async def qq(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> tuple[Harness, TestClient]:
    h = await make_harness(
        {
            "onebot": {"secret": SECRET, "api_url": bridge.url},
            "groups": [{"id": "10001", "platform": "onebot", "name": "QQ群"}],
        }
    )
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def admin_says(qq: tuple[Harness, TestClient], text: str, mid: int) -> None:
    h, client = qq
    assert (await post(client, group_message(text, mid=mid, role="admin"))).status == 204
    await h.bot.drain()


async def custom_slots(h: Harness) -> int:
    async with h.bot.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(ProgrammeCustomSlot)) or 0)


async def test_format_spec_in_chat_added_content_is_refused(
    qq: tuple[Harness, TestClient], bridge: FakeOneBot
) -> None:
    h, _client = qq
    await admin_says(qq, ATTACK, 1)
    await admin_says(qq, "/加节目 daily 12:00 y {theme.__class__}", 2)
    await admin_says(qq, "/节目预览 x", 3)
    said = bridge.sent_texts()
    assert len(said) == 3
    assert "节目内容只能用 {名字} 这样的占位符" in said[0] and "format specs" in said[0]
    assert "节目内容只能用" in said[1]
    assert "没有这个节目" in said[2]
    assert await custom_slots(h) == 0


async def test_a_bad_row_from_before_is_not_rendered_by_preview(
    qq: tuple[Harness, TestClient], bridge: FakeOneBot
) -> None:
    h, _client = qq
    async with h.bot.db.transaction() as s:
        s.add(
            ProgrammeCustomSlot(
                group_id="10001",
                slot_id="old",
                days="daily",
                time="12:00",
                theme="old",
                content="{theme:x>300000}",
                created_by="",
                created_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
        )
    await admin_says(qq, "/节目预览 old", 1)
    said = bridge.sent_texts()
    assert len(said) == 1 and "无法使用" in said[0] and len(said[0]) < 300


async def test_a_long_legitimate_preview_is_bounded(
    qq: tuple[Harness, TestClient], bridge: FakeOneBot
) -> None:
    name = "福" * 64  # the longest slot id, used as its theme
    await admin_says(qq, f"/加节目 daily 12:00 {name} " + "{theme}" * 550, 1)
    assert "已添加节目" in bridge.sent_texts()[0]
    await admin_says(qq, f"/节目预览 {name}", 2)
    parts = bridge.sent_texts()[1:]
    # 550 × 64 characters would be ~105 KB (24 QQ messages); the rendering is cut first
    assert len(parts) <= MAX_PARTS
    assert all(len(p.encode()) <= 4500 for p in parts)
    assert parts[-1].endswith("（内容过长，已截断）")


def test_check_config_names_the_key_path_of_unsafe_templates() -> None:
    data = {
        "programme": {
            "slots": [
                {"id": "a", "time": "10:00", "content": "{theme:x>25000000}"},
                {"id": "b", "time": "11:00", "pool": ["ok {date}", "{weekday!r}"]},
            ]
        },
        "templates": {"core.unknown_command": "{command:>99999}"},
        "groups": [{"id": "g", "templates": {"core.unknown_command": "{command[0]}"}}],
    }
    with pytest.raises(ConfigError) as exc:
        parse_config(data, FEATURES, environ={})
    problems = "\n".join(exc.value.problems)
    assert "programme.slots[0].content: Value error, {theme:x>25000000}: format specs" in problems
    assert "programme.slots[1].pool: Value error, pool[1]: {weekday!r}: conversions" in problems
    assert "templates.core.unknown_command: {command:>99999}: format specs" in problems
    assert "groups[0].templates.core.unknown_command: {command[0]}: only plain names" in problems


def test_check_config_cli_refuses_a_format_spec_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(
        '[[programme.slots]]\nid = "a"\ntime = "10:00"\ncontent = "{theme:x>25000000}"\n'
        '[[groups]]\nid = "g"\n',
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as exc:
        main(["check-config", "-c", str(cfg)])
    assert exc.value.code == 2
    assert "programme.slots[0].content:" in capsys.readouterr().err
