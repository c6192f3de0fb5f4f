"""`groupbot programme show` and the programme API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.runtime import Bot
from bot.web.app import create_app
from handlers.app import main
from handlers.programme.ticks import tick
from tests.fakes.clock import FakeClock
from tests.harness import Harness, make_config
from tests.test_programme import SLOTS, WED_10

ROOT = Path(__file__).resolve().parent.parent
AUTH = {"Authorization": "Bearer test-api-token"}


def test_programme_show_cli(capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(ROOT / "config.example.toml")
    assert main(["programme", "show", "-c", cfg, "--week", "2026-11-18"]) == 0
    out = capsys.readouterr().out
    assert "2026-11-18 Wed 10:00  demo  周三会员福利日" in out
    assert "2026-11-22 Sun 20:30  demo  本周邀请榜" in out
    assert main(["programme", "show", "-c", cfg, "--week", "nope"]) == 2
    assert main(["programme", "show", "-c", cfg, "--group", "nope"]) == 2


def test_programme_show_marks_what_came_before_the_first_start_as_before_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bot that first started 3.5 days ago and has been down since: earlier occurrences are
    ``before start``, later past ones ``skipped`` (missed), the rest ``pending``."""
    slots = {
        "programme": {
            "slots": [
                {
                    "id": "daily",
                    "days": ["daily"],
                    "time": "09:00",
                    "content": "早",
                    "targets": ["g1"],
                }
            ]
        }
    }
    config = make_config(tmp_path, slots)
    now = datetime.now(UTC)
    started = now - timedelta(days=3, hours=12)

    async def first_run() -> None:
        bot = Bot(config, FakeClock(started), workers=False, console_sink=lambda _l: None)
        await bot.start()
        await bot.stop()

    asyncio.run(first_run())
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[storage]\nurl = "{config.storage.url}"\n[programme]\n'
        '[[programme.slots]]\nid = "daily"\ndays = ["daily"]\ntime = "09:00"\n'
        'content = "早"\ntargets = ["g1"]\n[[groups]]\nid = "g1"\nplatform = "console"\n',
        encoding="utf-8",
    )
    tz = config.timezone("g1")
    seen: dict[str, int] = {}
    for day in (started - timedelta(days=7), started, now, now + timedelta(days=7)):
        week = day.astimezone(tz).date().isoformat()
        assert main(["programme", "show", "-c", str(cfg), "--week", week]) == 0
        for line in capsys.readouterr().out.splitlines()[1:]:
            local = datetime.strptime(line[:20], "%Y-%m-%d %a %H:%M").replace(tzinfo=tz)
            status = line.split("[", 1)[1].split("]", 1)[0]
            if abs(local - (now - timedelta(minutes=5))) < timedelta(minutes=1):
                continue  # the CLI's clock is read a little later than ours
            if local < started:
                want = "before start"
            elif local < now - timedelta(minutes=5):
                want = "skipped"
            else:
                want = "pending"
            assert status == want, line
            seen[want] = seen.get(want, 0) + 1
    assert seen["before start"] >= 7 and seen["skipped"] >= 3 and seen["pending"] >= 1


async def test_programme_api_statuses(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    h = await make_harness(SLOTS, clock=FakeClock(WED_10 + timedelta(seconds=3)))
    await tick(h.bot)
    await h.bot.drain()
    client = await aiohttp_client(create_app(h.bot, manage=False))
    start = datetime(2026, 11, 18, 0, 0, tzinfo=UTC).isoformat()
    end = datetime(2026, 11, 19, 0, 0, tzinfo=UTC).isoformat()
    r = await client.get(
        "/api/groups/g1/programme", params={"from": start, "to": end}, headers=AUTH
    )
    data = await r.json()
    got = {(o["slot"], o["status"]) for o in data["occurrences"]}
    # 08:30 came before the bot's first start (10:00:03): nothing was missed
    assert ("benefit", "sent") in got and ("morning", "before_start") in got
    assert data["occurrences"][0]["at"].endswith("+08:00")
    bad = await client.get("/api/groups/g1/programme", params={"from": "x"}, headers=AUTH)
    assert bad.status == 400
    assert (await client.get("/api/groups/zz/programme", headers=AUTH)).status == 404
