"""The outbox's in-flight window and merge cap, in process, against a bridge on 127.0.0.1.

Rules checked (bot/outbox/worker.py, bot/outbox/merge.py):
- A fan-out to 40 groups keeps exactly ``[bot] sends_in_flight`` requests open at once: never
  more (what a crash may send again), and no fewer (different groups still overlap a slow
  platform's answers). Every group gets its post once.
- Replies due together in one group are merged into messages of at most
  ``[bot] merge_max_replies`` replies each, in order.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.events import MessageReceived
from bot.web.app import create_app
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

AUTH = {"Authorization": "Bearer test-api-token"}
GROUPS = [str(60_001 + i) for i in range(40)]
WINDOW = 3


class HeldBridge(FakeOneBot):
    """Holds every request until ``gate`` is set; counts the requests open at once."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.open = 0
        self.most = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.open += 1
        self.most = max(self.most, self.open)
        try:
            await self.gate.wait()
            return await super().handle(request)
        finally:
            self.open -= 1


@pytest.fixture
async def held() -> AsyncIterator[HeldBridge]:
    async with HeldBridge() as bridge:
        yield bridge


async def until(check: Callable[[], bool], what: str, within_s: float = 30) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_fanout_keeps_the_window_open_and_no_more(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    held: HeldBridge,
) -> None:
    h = await make_harness(
        {
            "bot": {"sends_in_flight": WINDOW},
            "onebot": {"secret": "window-secret", "api_url": held.url},
            "groups": [{"id": g, "platform": "onebot", "name": f"群{g}"} for g in GROUPS],
        }
    )
    client = await aiohttp_client(create_app(h.bot, manage=False))
    for g in GROUPS:
        r = await client.post(f"/api/groups/{g}/messages", json={"text": f"通知{g}"}, headers=AUTH)
        assert r.status == 202
    assert h.bot.outbox is not None
    run = asyncio.create_task(h.bot.outbox.run_once())
    await until(lambda: held.open >= WINDOW, "the window filled")
    held.gate.set()  # from now on the bridge answers at once
    assert await run == len(GROUPS)
    assert held.most == WINDOW
    assert Counter(held.sent_texts()) == Counter(f"通知{g}" for g in GROUPS)


async def test_replies_due_together_merge_up_to_the_cap(
    make_harness: Callable[..., Awaitable[Harness]],
) -> None:
    h = await make_harness({"bot": {"merge_max_replies": 4}})
    for i in range(10):
        await h.bot.inbox.submit(
            MessageReceived(
                dedup_key=f"test:merge:{i}",
                platform="console",
                group_id="g1",
                occurred_at=h.clock.now(),
                user_id=f"u{i}",
                user_name=f"会员{i}",
                text="/签到",
                message_id=f"m{i}",
            )
        )
    h.new_lines()
    await h.bot.drain()
    posts = h.new_lines()
    assert [p.count("签到成功") for p in posts] == [4, 4, 2]
    order = [int(line.split("会员")[1].split()[0]) for p in posts for line in p.split("\n")]
    assert order == list(range(10))
