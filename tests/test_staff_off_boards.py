"""``exclude_staff`` holds wherever the bot ranks members: the programme's live boards and
``groupbot report``'s VIP candidates — in the CLI, the report API and the dashboard's
leaderboards page — leave staff off as ``/签到榜`` does."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.web.app import create_app
from handlers.programme.ticks import tick
from storage.migrate import stamp
from tests.fakes.clock import FakeClock
from tests.harness import Harness
from tests.test_report_cli import run, section

MakeHarness = Callable[..., Awaitable[Harness]]
WED_10 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
BOARD = {
    "programme": {
        "slots": [
            {"id": "board", "time": "10:00", "content": "今日榜\n{top_checkin}", "targets": ["g1"]}
        ]
    },
    "rules": {"flood": {"enabled": False}},
}


async def test_the_programme_board_leaves_staff_off(make_harness: MakeHarness) -> None:
    h = await make_harness(BOARD, clock=FakeClock(WED_10 - timedelta(minutes=1)))
    await h.say("gadmin", "/签到")
    await h.say("bob", "/签到")
    h.clock.advance(timedelta(seconds=65))
    await tick(h.bot)
    await h.bot.drain()
    post = next(line for line in h.lines if "今日榜" in line)
    assert "1. bob" in post and "gadmin" not in post, post


async def test_the_vip_report_leaves_staff_off(
    make_harness: MakeHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = await make_harness(clock=FakeClock(datetime.now(UTC) - timedelta(days=3)))
    await h.join("boss")
    await h.join("amy")
    for _ in range(2):
        await h.say("boss", "/签到")
        await h.say("amy", "/签到")
        await h.advance(days=1)
    await stamp(h.bot.db)
    cfg = tmp_path / "r.toml"
    cfg.write_text(
        f'[storage]\nurl = "{h.bot.config.storage.url}"\n'
        '[[groups]]\nid = "g1"\nplatform = "console"\nadmins = ["boss"]\n',
        encoding="utf-8",
    )
    assert await asyncio.to_thread(run, ["report", "-c", str(cfg)]) == 0
    vip = section(capsys.readouterr().out, "g1: VIP candidates")
    assert [line.split()[0] for line in vip[2:]] == ["amy"], vip


async def test_the_report_api_and_the_leaderboards_page_leave_staff_off(
    make_harness: MakeHarness,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await make_harness()
    await h.say("gadmin", "/签到")  # a configured admin of g1
    await h.say("amy", "/签到")
    client = await aiohttp_client(create_app(h.bot, manage=False))
    auth = {"Authorization": "Bearer test-api-token"}
    report = await (await client.get("/api/groups/g1/report", headers=auth)).json()
    assert [v["user_id"] for v in report["vip_candidates"]] == ["amy"]
    page = await (await client.get("/admin/groups/g1/leaderboards", headers=auth)).text()
    vips = page.split('data-board="vip"', 1)[1].split("</table>", 1)[0]
    assert "amy" in vips and "gadmin" not in vips
