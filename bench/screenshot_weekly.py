"""The README's screenshot of the 周报 page, taken with Debian's Chromium against a bot seeded
with two weeks of joins, leaves, messages and check-ins and served on 127.0.0.1:
``python bench/screenshot_weekly.py`` writes docs/weekly.png (and prints the post)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import async_playwright

from bot.web.app import create_app
from tests.harness import Harness, start_harness

CHROMIUM = "/usr/bin/chromium"
TOKEN = "test-api-token"
SH = ZoneInfo("Asia/Shanghai")
GROUPS = [
    {"id": "s1", "platform": "console", "name": "徐汇店宝妈群", "tags": ["宝妈", "上海"]},
    {"id": "s2", "platform": "console", "name": "静安店宝妈群", "tags": ["宝妈", "上海"]},
    {"id": "s3", "platform": "console", "name": "杭州VIP群", "tags": ["VIP", "杭州"]},
    {"id": "s4", "platform": "console", "name": "福利群", "tags": ["福利"]},
    {"id": "ops", "platform": "console", "name": "运营管理群"},
]
WEEKLY = {"enabled": True, "group": "ops", "tags": ["宝妈", "VIP", "福利"], "top": 2}


async def week(h: Harness, n: int, salt: int) -> None:
    """One week's life in each group (more in the later week for some, less for others)."""
    for i, g in enumerate(GROUPS[:4]):
        gid = g["id"]
        joins = 4 + (i * 3 + salt) % 7
        for u in range(joins):
            await h.join(f"{gid}w{n}u{u}", group=gid)
        for u in range((i + salt) % 3):
            await h.leave(f"{gid}w{n}u{u}", group=gid)
        for u in range((i + salt) % 3, joins - (i % 2) * salt):
            await h.say(f"{gid}w{n}u{u}", "/签到" if u % 2 else "早上好", group=gid)
        for u in range(3, 3 + salt + i % 2):  # some of last week's newcomers stay active
            await h.say(f"{gid}w{n - 1}u{u}", "今天有什么活动？", group=gid)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = await start_harness(Path(tmp), {"groups": GROUPS, "weekly": WEEKLY})
        try:
            await week(h, 47, 0)
            h.clock.set(datetime(2026, 11, 24, 10, tzinfo=SH))
            await week(h, 48, 2)
            h.clock.set(datetime(2026, 11, 30, 9, tzinfo=SH))
            said = await h.run_jobs()
            print("\n".join(said))
            async with TestClient(TestServer(create_app(h.bot, manage=False))) as client:
                base = str(client.make_url("")).rstrip("/")
                async with async_playwright() as pw:
                    browser = await pw.chromium.launch(
                        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                    )
                    page = await browser.new_page(viewport={"width": 1400, "height": 900})
                    await page.goto(f"{base}/admin/weekly?token={TOKEN}")
                    await page.screenshot(path=str(ROOT / "docs" / "weekly.png"), full_page=True)
                    await browser.close()
        finally:
            await h.bot.stop()


if __name__ == "__main__":
    asyncio.run(main())
