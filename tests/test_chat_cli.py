"""`groupbot chat` and `groupbot db upgrade` as a newcomer uses them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.chat import ChatSession, OffsetClock, parse_duration
from bot.runtime import Bot
from handlers.app import main
from tests import pgdb
from tests.harness import make_config


async def test_chat_session_plays_members(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = make_config(tmp_path)
    clock = OffsetClock()
    lines: list[str] = []
    bot = Bot(cfg, clock, workers=False, migrate=True, console_sink=lines.append)
    await bot.start()
    try:
        chat = ChatSession(bot, clock, "g1", "alice")
        assert await chat.handle("/帮助")
        assert "可用指令" in lines[-1]
        await chat.handle(":join bob by alice")
        await chat.handle(":as bob")
        await chat.handle("/nope")
        assert "没有 /nope" in lines[-1]
        await chat.handle(":wait 2d")
        assert "现在是" in capsys.readouterr().out
        await chat.handle(":private /帮助")
        assert lines[-1].startswith("[私聊 bob]")
        await chat.handle(":leave bob")
        assert not await chat.handle(":quit")
    finally:
        await bot.stop()


async def test_wait_runs_the_jobs_that_fell_due(tmp_path: Path) -> None:
    """``:wait 10m`` moves wall and monotonic time: the greeting, the settlement of an invite
    and the programme post of the next minutes all happen before the prompt returns."""
    clock = OffsetClock()
    soon = (clock.now() + timedelta(minutes=5)).astimezone(ZoneInfo("Asia/Shanghai"))
    slot = {"id": "soon", "days": ["daily"], "time": f"{soon:%H:%M}", "content": "整点播报"}
    cfg = make_config(
        tmp_path,
        {
            "referral": {"qualify_days": 0.005, "tiers": [{"invites": 1, "reward": "保温杯"}]},
            "programme": {"slots": [slot]},
        },
    )
    lines: list[str] = []
    bot = Bot(cfg, clock, workers=False, migrate=True, console_sink=lines.append)
    await bot.start()
    try:
        chat = ChatSession(bot, clock, "g1", "alice")
        await chat.handle("/签到")
        await chat.handle(":join bob by alice")
        assert not [x for x in lines if "欢迎" in x]
        tick = bot.jobs.get("programme-tick")
        assert tick is not None and tick.runs == 0
        await chat.handle(":wait 10m")
        assert [x for x in lines if "欢迎 bob" in x], lines  # the welcome flush ran
        assert [x for x in lines if "获得「保温杯」" in x], lines  # the settlement ran
        assert [x for x in lines if "整点播报" in x], lines  # the programme's tick ran
        assert tick.runs == 1  # once, however many ticks the ten minutes held
    finally:
        await bot.stop()


def test_parse_duration() -> None:
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("2d").days == 2
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_db_upgrade_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    url = pgdb.database_url(tmp_path, "x.db", empty=True)
    cfg.write_text(f'[storage]\nurl = "{url}"\n', encoding="utf-8")
    assert main(["db", "upgrade", "-c", str(cfg)]) == 0
    assert "revision" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["serve"])
    assert exc.value.code == 2
