"""`groupbot programme show` and the programme API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.web.app import create_app
from handlers.app import main
from handlers.programme.ticks import tick
from tests.fakes.clock import FakeClock
from tests.harness import Harness
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
    assert ("benefit", "sent") in got and ("morning", "skipped") in got
    assert data["occurrences"][0]["at"].endswith("+08:00")
    bad = await client.get("/api/groups/g1/programme", params={"from": "x"}, headers=AUTH)
    assert bad.status == 400
    assert (await client.get("/api/groups/zz/programme", headers=AUTH)).status == 404
