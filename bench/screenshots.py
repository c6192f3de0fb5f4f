"""The README's screenshots of the 群矩阵 and 群发 pages, taken with Debian's Chromium against a
seeded bot served on 127.0.0.1: ``python bench/screenshots.py`` writes docs/matrix.png and
docs/broadcasts.png."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import async_playwright

from bot.web.app import create_app
from tests.harness import start_harness

CHROMIUM = "/usr/bin/chromium"
TOKEN = "test-api-token"
GROUPS = [
    {"id": "s1", "platform": "console", "name": "徐汇店宝妈群", "tags": ["宝妈", "上海"]},
    {"id": "s2", "platform": "console", "name": "静安店宝妈群", "tags": ["宝妈", "上海"]},
    {"id": "s3", "platform": "console", "name": "杭州VIP群", "tags": ["VIP", "杭州"]},
    {"id": "s4", "platform": "console", "name": "福利群", "tags": ["福利"]},
]


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = await start_harness(Path(tmp), {"groups": GROUPS})
        try:
            for n, g in enumerate(GROUPS):
                for u in range(6 + 3 * n):
                    await h.join(f"{g['id']}u{u}", group=g["id"])
                for u in range(n + 1):
                    await h.leave(f"{g['id']}u{u}", group=g["id"])
                for u in range(n + 1, 6):
                    await h.say(f"{g['id']}u{u}", "/签到" if u % 2 else "早上好", group=g["id"])
            async with TestClient(TestServer(create_app(h.bot, manage=False))) as client:
                base = str(client.make_url("")).rstrip("/")
                r = await client.post(
                    "/api/broadcasts",
                    json={"targets": ["tag:宝妈"], "text": "{group}的家人们，今晚8点直播！"},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                assert r.status == 201
                await h.bot.drain()
                async with async_playwright() as pw:
                    browser = await pw.chromium.launch(
                        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                    )
                    page = await browser.new_page(viewport={"width": 1400, "height": 900})
                    await page.goto(f"{base}/admin/matrix?token={TOKEN}&sort=-members")
                    await page.screenshot(path=str(ROOT / "docs" / "matrix.png"), full_page=True)
                    await page.goto(f"{base}/admin/broadcasts")
                    await page.screenshot(
                        path=str(ROOT / "docs" / "broadcasts.png"), full_page=True
                    )
                    await browser.close()
        finally:
            await h.bot.stop()


if __name__ == "__main__":
    asyncio.run(main())
