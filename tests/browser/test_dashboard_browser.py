"""The dashboard in a real headless Chromium (Debian's ``/usr/bin/chromium`` driven by
Playwright): events go in through signed OneBot HTTP requests, the browser signs in with the
token link, the charts render with a real size, and every number drawn equals the stats API's.

Skipped only when Chromium or Playwright is missing on a developer machine; under CI (``CI``
set) a missing browser is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.adapters.onebot import sign
from bot.web.app import create_app
from tests.fakes.clock import DEFAULT_START, FakeClock
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECRET = "browser-secret"
TOKEN = "test-api-token"
GID = "10001"
HOSTILE = "<b>坏人</b>"
DAYS = 12
LEAVE_DAYS = (2, 4, 7, 10)
DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"


def _need_browser() -> None:
    missing = []
    if not os.path.exists(CHROMIUM):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[test]')")
    if missing and os.environ.get("CI"):
        pytest.fail("browser test needs " + " and ".join(missing))
    if missing:
        pytest.skip("browser test needs " + " and ".join(missing))


class Feed:
    """Plays a OneBot bridge posting signed events to the bot's real HTTP endpoint."""

    def __init__(self, h: Harness, client: TestClient) -> None:
        self.h, self.client, self.n = h, client, 0

    async def post(self, body: dict[str, Any]) -> None:
        self.n += 1
        body = {"time": int(self.h.clock.now().timestamp()), "self_id": 999, **body}
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, raw)}
        r = await self.client.post("/onebot", data=raw, headers=headers)
        assert r.status == 204, await r.text()

    async def join(self, user: int) -> None:
        await self.post(
            {
                "post_type": "notice",
                "notice_type": "group_increase",
                "sub_type": "approve",
                "group_id": int(GID),
                "user_id": user,
                "operator_id": 0,
            }
        )

    async def leave(self, user: int) -> None:
        await self.post(
            {
                "post_type": "notice",
                "notice_type": "group_decrease",
                "sub_type": "leave",
                "group_id": int(GID),
                "user_id": user,
                "operator_id": user,
            }
        )

    async def say(self, user: int, text: str, name: str = "") -> None:
        await self.post(
            {
                "post_type": "message",
                "message_type": "group",
                "sub_type": "normal",
                "message_id": self.n,
                "group_id": int(GID),
                "user_id": user,
                "message": [{"type": "text", "data": {"text": text}}],
                "sender": {"user_id": user, "nickname": name or f"成员{user}", "role": "member"},
            }
        )


@pytest.fixture
async def bridge() -> AsyncIterator[FakeOneBot]:
    async with FakeOneBot() as b:
        yield b


async def seed(h: Harness, feed: Feed) -> None:
    """``DAYS`` days of a small group: joins, chat, check-ins, a few leaves (the bot first
    started on the first of them: statistics begin there)."""
    user = 100
    for day in range(DAYS):
        for _ in range(day % 3 + 1):
            user += 1
            await feed.join(user)
        for u in range(101, user + 1, 2):
            await feed.say(u, "/签到" if (u + day) % 3 else "大家好", HOSTILE if u == 101 else "")
        if day in LEAVE_DAYS:
            await feed.leave(user - 1)
        await h.bot.drain()
        h.clock.advance(timedelta(days=1))
    h.clock.advance(timedelta(days=-1))


async def test_dashboard_in_chromium(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
    tmp_path: Path,
) -> None:
    _need_browser()
    from playwright.async_api import async_playwright

    h = await make_harness(
        {
            "onebot": {"secret": SECRET, "api_url": bridge.url},
            "groups": [{"id": GID, "platform": "onebot", "name": "浏览器测试群"}],
        },
        clock=FakeClock(DEFAULT_START - timedelta(days=DAYS)),
    )
    client = await aiohttp_client(create_app(h.bot, manage=False))
    await seed(h, Feed(h, client))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    api = await (await client.get(f"/api/groups/{GID}/stats?days=30", headers=auth)).json()
    assert sum(d["joins"] for d in api["days"]) == sum(d % 3 + 1 for d in range(DAYS))
    assert sum(d["leaves"] for d in api["days"]) == len(LEAVE_DAYS)
    base = str(client.make_url("")).rstrip("/")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            await page.goto(f"{base}/admin/groups/{GID}?days=30&token={TOKEN}")
            assert page.url == f"{base}/admin/groups/{GID}?days=30"  # token dropped, cookie kept
            figures = page.locator("figure.chart")
            assert await figures.count() == 4
            for i in range(4):
                box = await figures.nth(i).locator("svg").bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 30
            for field in ("members", "joins", "leaves", "checkins", "active_members"):
                drawn = await page.eval_on_selector_all(
                    f'figure.chart [data-series="{field}"][data-date]',
                    "els => els.map(e => [e.dataset.date, Number(e.dataset.value)])",
                )
                assert dict(drawn) == {d["date"]: d[field] for d in api["days"]}, field
            # a bar with a value has a visible height in the rendered page
            bar = page.locator('rect[data-series="joins"]:not([data-value="0"])').first
            box = await bar.bounding_box()
            assert box is not None and box["height"] > 0
            today = api["days"][-1]
            for field in ("members", "joins", "leaves", "messages", "active_members", "checkins"):
                shown = await page.locator(f'.card[data-field="{field}"] b').inner_text()
                assert int(shown) == today[field], field
            await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

            boards = await browser.new_page(viewport={"width": 390, "height": 844})
            await boards.goto(f"{base}/admin/groups/{GID}/leaderboards?token={TOKEN}")
            text = await boards.locator("main").inner_text()
            assert HOSTILE in text  # shown as text …
            assert await boards.locator("main b:text('坏人')").count() == 0  # … never as markup
            await boards.goto(f"{base}/admin/")
            assert await boards.locator("svg.spark").count() == 2
            overflow = await boards.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 1  # readable on a phone: wide tables scroll inside their box
            await boards.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)
        finally:
            await browser.close()
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    if os.environ.get("GROUPBOT_UPDATE_SCREENSHOT"):
        shutil.copy(tmp_path / "dashboard.png", DOCS_SHOT)
