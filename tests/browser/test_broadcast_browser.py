"""The 群发 page in a real headless Chromium: sign in with the token link, tick a tag, type a
template, preview it group by group, send, and follow the report until every group says
``sent`` — the states on the page equal what the fake OneBot bridge received. Skipped like
the other browser test when Chromium or Playwright is missing (a failure under CI)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient

from bot.web.app import create_app
from tests.browser.test_dashboard_browser import ARGS, CHROMIUM, TOKEN, _need_browser
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

GROUPS = [
    {"id": "40001", "platform": "onebot", "name": "宝妈<b>一</b>群", "tags": ["宝妈"]},
    {"id": "40002", "platform": "onebot", "name": "宝妈二群", "tags": ["宝妈"]},
    {"id": "40003", "platform": "onebot", "name": "别的群", "tags": ["VIP"]},
]


async def test_compose_preview_send_follow_in_chromium(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
    tmp_path: Path,
) -> None:
    _need_browser()
    from playwright.async_api import async_playwright

    h = await make_harness(
        {
            "onebot": {"secret": "s", "api_url": bridge.url, "access_token": "bridge-token"},
            "groups": GROUPS,
        }
    )
    await h.bot.drain()
    client = await aiohttp_client(create_app(h.bot, manage=False))
    base = str(client.make_url("")).rstrip("/")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(f"{base}/admin/broadcasts?token={TOKEN}")
            assert page.url == f"{base}/admin/broadcasts"
            await page.check('input[value="tag:宝妈"]')
            await page.fill("#text", "{group}的家人们，今晚8点见")
            await page.click('button[value="preview"]')
            rows = page.locator('table[data-table="preview"] tbody tr')
            assert await rows.count() == 2
            shown = await page.locator('table[data-table="preview"] pre').all_inner_texts()
            assert shown == ["宝妈<b>一</b>群的家人们，今晚8点见", "宝妈二群的家人们，今晚8点见"]
            assert await page.input_value("#text") == "{group}的家人们，今晚8点见"  # kept
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 1  # fits a phone
            await page.click('button[value="send"]')
            assert "/admin/broadcasts/" in page.url
            await h.bot.drain()
            await page.reload()
            states = await page.eval_on_selector_all(
                'table[data-table="groups"] [data-state]', "els => els.map(e => e.dataset.state)"
            )
            assert states == ["sent", "sent"]
            sent = await page.locator('.card[data-field="sent"] b').inner_text()
            assert int(sent) == 2 == len(bridge.sent_texts())
            assert sorted(bridge.sent_texts()) == sorted(shown)
            await page.screenshot(path=str(tmp_path / "broadcast.png"), full_page=True)
        finally:
            await browser.close()
