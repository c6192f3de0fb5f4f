"""Admins edit the programme from chat; edits survive a restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.runtime import Bot
from handlers.programme.ticks import tick
from tests.fakes.clock import FakeClock
from tests.harness import Harness, make_config
from tests.test_programme import SLOTS, WED_10


async def test_add_pause_resume_remove_and_restart(tmp_path: Path) -> None:
    clock = FakeClock(WED_10 - timedelta(hours=1))  # Wednesday 09:00
    cfg = make_config(tmp_path, SLOTS)
    bot = Bot(cfg, clock, workers=False, migrate=False, console_sink=lambda _l: None)
    await bot.db.create_all()
    await bot.start()
    h = Harness(bot, clock)
    await h.advance(seconds=0)  # the catch-up of 08:30 (within the grace period) goes out first
    assert "只有管理员" in (await h.say("bob", "/加节目 周三 09:30 秒杀 限时秒杀开始"))[0]
    assert (
        "已添加节目「秒杀」" in (await h.say("gadmin", "/加节目 周三 09:30 秒杀 限时秒杀开始"))[0]
    )
    assert "已有名为" in (await h.say("gadmin", "/加节目 周三 09:40 秒杀 又一个"))[0]
    assert "格式不对" in (await h.say("gadmin", "/加节目 周八 09:30 x y"))[0]
    assert "预览「会员福利日」" in (await h.say("gadmin", "/节目预览 benefit"))[0]
    assert "已暂停" in (await h.say("gadmin", "/暂停节目 benefit"))[0]
    await bot.stop()

    bot = Bot(cfg, clock, workers=False, migrate=False, console_sink=lambda _l: None)
    await bot.start()  # a restart: the edits are in the database
    h = Harness(bot, clock)
    await h.advance(seconds=0)
    table = (await h.say("bob", "/节目表"))[0]
    assert "09:30 秒杀 [待发]" in table and "会员福利日" not in table
    clock.advance(timedelta(minutes=30))
    await tick(bot)
    await bot.drain()
    assert any("限时秒杀开始" in line for line in bot.console.lines if line.startswith("[g1]"))
    assert not any("限时秒杀开始" in line for line in bot.console.lines if line.startswith("[g2]"))
    assert "已恢复" in (await h.say("gadmin", "/恢复节目 benefit"))[0]
    clock.advance(timedelta(minutes=30))
    await tick(bot)
    await bot.drain()
    assert any("会员福利日" in line for line in bot.console.lines if line.startswith("[g1]"))
    assert "不能删除" in (await h.say("gadmin", "/删节目 benefit"))[0]
    assert "已删除" in (await h.say("gadmin", "/删节目 秒杀"))[0]
    assert "秒杀" not in (await h.say("bob", "/节目表"))[0]
    await bot.stop()
