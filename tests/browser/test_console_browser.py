"""The console for several staff in a real headless Chromium: an operator signs in with name
and password, sends a broadcast to a tag and sees each group's delivery state, adds a
programme slot to the tag's groups and sees it in the week preview; a viewer's attempt to
post gets 403 and the database is unchanged. Skipped like the other browser tests when
Chromium or Playwright is missing (a failure under CI)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import unquote

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.web.app import create_app
from storage.models import AuditEntry, OutboxMessage
from storage.models_broadcast import Broadcast
from storage.models_programme import ProgrammeCustomSlot
from tests.browser.test_dashboard_browser import ARGS, CHROMIUM, _need_browser
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness
from tests.staffkit import PASSWORD, add_staff

GROUPS = [
    {"id": "40001", "platform": "onebot", "name": "宝妈一群", "tags": ["宝妈"]},
    {"id": "40002", "platform": "onebot", "name": "宝妈二群", "tags": ["宝妈"]},
    {"id": "40003", "platform": "onebot", "name": "别的群", "tags": ["VIP"]},
]


async def counts(h: Harness) -> dict[str, int]:
    async with h.bot.db.read() as s:
        return {
            t.__tablename__: int(await s.scalar(select(func.count()).select_from(t)) or 0)
            for t in (Broadcast, OutboxMessage, ProgrammeCustomSlot, AuditEntry)
        }


async def test_operator_acts_viewer_cannot(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
    tmp_path: Path,
) -> None:
    _need_browser()
    from playwright.async_api import Page, async_playwright

    h = await make_harness(
        {
            "onebot": {"secret": "s", "api_url": bridge.url, "access_token": "bridge-token"},
            "groups": GROUPS,
        }
    )
    await h.bot.drain()
    await add_staff(h, "小安", "operator")
    await add_staff(h, "vic", "viewer")
    client = await aiohttp_client(create_app(h.bot, manage=False))
    base = str(client.make_url("")).rstrip("/")

    async def sign_in(page: Page, name: str, where: str) -> None:
        await page.goto(f"{base}{where}")
        await page.fill("#name", name)
        await page.fill("#password", PASSWORD)
        await page.click('form[data-form="staff"] button')
        assert unquote(page.url) == f"{base}{where}"

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            op = await (
                await browser.new_context(viewport={"width": 1000, "height": 900})
            ).new_page()
            await sign_in(op, "小安", "/admin/broadcasts")
            assert await op.locator(".me").inner_text() == "小安（运营）"
            # a broadcast to the tag, and each group's delivery state
            await op.check('input[value="tag:宝妈"]')
            await op.fill("#text", "{group}的家人们，今晚8点见")
            await op.click('button[value="send"]')
            assert "/admin/broadcasts/" in op.url
            await h.bot.drain()
            await op.reload()
            states = await op.eval_on_selector_all(
                'table[data-table="groups"] [data-state]', "els => els.map(e => e.dataset.state)"
            )
            assert states == ["sent", "sent"]
            assert sorted(bridge.sent_texts()) == [
                "宝妈一群的家人们，今晚8点见",
                "宝妈二群的家人们，今晚8点见",
            ]
            # a programme slot for the tag, seen in the week preview
            await op.goto(f"{base}/admin/programme?target=tag:宝妈")
            await op.fill('form[data-form="add"] input[name="days"]', "周四")
            await op.fill('form[data-form="add"] input[name="time"]', "12:00")
            await op.fill('form[data-form="add"] input[name="theme"]', "午间秒杀")
            await op.fill('form[data-form="add"] textarea[name="content"]', "{group}秒杀开始")
            await op.click('form[data-form="add"] button')
            assert "done=add" in op.url
            week = await op.locator('table[data-table="week"] tbody tr').all_inner_texts()
            slot_rows = [r for r in week if "午间秒杀" in r]
            assert len(slot_rows) == 2
            assert any("40001" in r for r in slot_rows) and any("40002" in r for r in slot_rows)
            await op.screenshot(path=str(tmp_path / "programme.png"), full_page=True)

            # a viewer sees the same pages; posting is refused and nothing changes
            before = await counts(h)
            viewer = await (await browser.new_context()).new_page()
            await sign_in(viewer, "vic", "/admin/programme?target=tag:宝妈")
            await viewer.fill('form[data-form="add"] input[name="days"]', "周五")
            await viewer.fill('form[data-form="add"] input[name="time"]', "13:00")
            await viewer.fill('form[data-form="add"] input[name="theme"]', "偷偷加")
            await viewer.fill('form[data-form="add"] textarea[name="content"]', "不该出现")
            async with viewer.expect_response(lambda r: r.request.method == "POST") as answer:
                await viewer.click('form[data-form="add"] button')
            assert (await answer.value).status == 403
            assert "只读" in await viewer.content()
            await viewer.goto(f"{base}/admin/broadcasts")
            await viewer.check('input[value="all"]')
            await viewer.fill("#text", "不该发出")
            async with viewer.expect_response(lambda r: r.request.method == "POST") as answer:
                await viewer.click('button[value="send"]')
            assert (await answer.value).status == 403
            await h.bot.drain()
            assert await counts(h) == before
            assert len(bridge.sent_texts()) == 2
        finally:
            await browser.close()
