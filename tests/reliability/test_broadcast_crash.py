"""A broadcast survives SIGKILL of `groupbot serve` half-way through its sends.

Rules checked: the bridge answers the first ``SENT_BEFORE`` messages and holds every later one
(never answered: to the bot they did not go). Once those sends are marked ``sent`` the server
is killed; after the restart every tagged group has its message exactly once, no other group
has one, and the report says ``sent`` for each group — as the bridge saw it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.fakes.onebot_bridge import FakeOneBot
from tests.fakes.server import free_port
from tests.reliability.serve import ServeProcess, query, wait_for, write_config

TOKEN = "crash-api"
BRIDGE_TOKEN = "crash-bridge-token"
TAGGED = [str(30100 + i) for i in range(30)]
OTHERS = [str(30200 + i) for i in range(5)]
SENT_BEFORE = 12
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class HoldingBridge(FakeOneBot):
    """Carries out the first ``allow`` group messages; holds the later ones until
    ``release`` and then refuses them (not recorded: they never reached the group)."""

    def __init__(self, allow: int) -> None:
        super().__init__(access_token=BRIDGE_TOKEN)
        self.allow = allow
        self.held = 0
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["action"] == "send_group_msg":
            if self.allow <= 0:
                self.held += 1
                await self.release.wait()
                return web.Response(status=503)
            self.allow -= 1
        return await super().handle(request)


def config_body(bridge_url: str) -> str:
    groups = "".join(
        f'[[groups]]\nid = "{g}"\nplatform = "onebot"\nname = "群{g}"\ntags = ["宝妈"]\n'
        for g in TAGGED
    ) + "".join(f'[[groups]]\nid = "{g}"\nplatform = "onebot"\nname = "群{g}"\n' for g in OTHERS)
    return f"""
[bot]
api_token = "{TOKEN}"
[onebot]
secret = "crash-secret"
api_url = "{bridge_url}"
access_token = "{BRIDGE_TOKEN}"
{groups}"""


async def report(http: aiohttp.ClientSession, base: str, bid: int) -> dict[str, Any]:
    async with http.get(f"{base}/api/broadcasts/{bid}", headers=AUTH) as r:
        assert r.status == 200
        body: dict[str, Any] = await r.json()
        return body


@pytest.mark.slow
async def test_sigkill_mid_broadcast_then_each_group_exactly_once(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    async with HoldingBridge(SENT_BEFORE) as bridge, aiohttp.ClientSession() as http:
        port = free_port()
        proc = ServeProcess(write_config(tmp_path, port, config_body(bridge.url)), tmp_path, port)
        try:
            proc.start()
            await proc.wait_healthy(http)
            body = {"targets": ["tag:宝妈"], "text": "{group} 今晚8点直播"}
            async with http.post(f"{proc.base}/api/broadcasts", json=body, headers=AUTH) as r:
                assert r.status == 201
                bid = (await r.json())["id"]

            def half_gone() -> bool:
                sent = query(
                    db, "select count(*) from outbox where status = 'sent' and idem_key like 'bc:%'"
                )[0][0]
                return sent == SENT_BEFORE and bridge.held > 0

            await wait_for(half_gone, 30, "the first messages sent and marked, the rest held")
            proc.kill()
            bridge.allow = 10**9
            bridge.release.set()
            assert len(bridge.sent_texts()) == SENT_BEFORE

            proc.start()
            await proc.wait_healthy(http)
            done: dict[str, Any] = {}

            async def all_sent() -> bool:
                done.update(await report(http, proc.base, bid))
                return bool(done["counts"]["sent"] == len(TAGGED))

            deadline = asyncio.get_running_loop().time() + 60
            while not await all_sent():
                assert asyncio.get_running_loop().time() < deadline, done
                await asyncio.sleep(0.1)
        finally:
            proc.close()

        got = Counter(str(p["group_id"]) for a, p in bridge.calls if a == "send_group_msg")
        assert got == Counter(dict.fromkeys(TAGGED, 1))  # each tagged group once, no other
        assert sorted(bridge.sent_texts()) == sorted(f"群{g} 今晚8点直播" for g in TAGGED)
        assert done["status"] == "done"
        assert {g["group_id"]: g["state"] for g in done["groups"]} == dict.fromkeys(TAGGED, "sent")
        assert done["counts"] == {
            "scheduled": 0,
            "queued": 0,
            "sent": len(TAGGED),
            "failed": 0,
            "dead": 0,
            "cancelled": 0,
        }
