"""Crash duplicates are bounded: SIGKILL `groupbot serve` while sends wait on a slow bridge.

Rules checked (bot/outbox/worker.py, bot/outbox/merge.py, docs/reliability.md):
- A 40-group fan-out (40 broadcasts, one per group) against a bridge that carries out every
  post at once but answers late: at the kill at most ``sends_in_flight`` posts were carried
  out without their "sent" mark, so after the restart every group has its post and at most
  that many groups got it twice (never three times).
- 40 members' ``/签到`` replies due together in one group, the merged message carried out but
  not answered at the kill: after the restart every reply reached the group and at most
  ``merge_max_replies`` replies were repeated (one re-sent message).

The bridge is slow in the worst way (the post is done, only the answer is late), which is
what makes the duplicate: the sender cannot know the post went out. The tests wait on
conditions (what the bridge saw, what the database holds), never on durations.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.sections import BotConfig
from tests.fakes.onebot_bridge import FakeOneBot
from tests.fakes.server import free_port
from tests.reliability.serve import (
    ServeProcess,
    group_message,
    post_onebot,
    query,
    wait_for,
    write_config,
)

SECRET = "inflight-secret"
TOKEN = "inflight-bridge"
API = "inflight-api"
IN_FLIGHT = BotConfig().sends_in_flight  # the defaults are what the README promises
MERGE_MAX = BotConfig().merge_max_replies
FANOUT = [str(30_001 + i) for i in range(40)]
PROMPT = 16  # fan-out: answers given at once before the bridge turns slow
MERGE_GROUP = "39001"
MEMBERS = 40


class LateBridge(FakeOneBot):
    """Carries out (records) every post when it arrives; answers the first ``prompt`` posts
    at once and the others only once ``opened`` is set."""

    def __init__(self, prompt: int) -> None:
        super().__init__(access_token=TOKEN)
        self.prompt = prompt
        self.opened = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        response = await super().handle(request)
        if response.status != 200 or not request.match_info["action"].startswith("send_"):
            return response  # refused or failed: nothing was carried out
        if self.prompt > 0:
            self.prompt -= 1
        else:
            await self.opened.wait()
        return response

    def posts(self) -> list[tuple[str, str]]:
        """(group, text) of every group post carried out."""
        return [
            (str(p["group_id"]), p["message"][-1]["data"]["text"])
            for a, p in self.calls
            if a == "send_group_msg"
        ]


def config_body(bridge_url: str, groups: list[str]) -> str:
    listed = "".join(
        f'[[groups]]\nid = "{g}"\nplatform = "onebot"\nname = "群{g}"\n' for g in groups
    )
    return f"""
[bot]
api_token = "{API}"
[onebot]
secret = "{SECRET}"
api_url = "{bridge_url}"
access_token = "{TOKEN}"
{listed}"""


def queued(db: Path) -> int:
    return int(query(db, "select count(*) from outbox where status != 'sent'")[0][0])


async def restart_and_flush(
    proc: ServeProcess, http: aiohttp.ClientSession, bridge: LateBridge, db: Path
) -> None:
    """SIGKILL, answer everything from now on, start again, wait until all is marked sent."""
    proc.kill()
    bridge.opened.set()
    proc.start()
    await proc.wait_healthy(http)
    await wait_for(lambda: queued(db) == 0, 90, "every message marked sent after the restart")


@pytest.mark.slow
async def test_sigkill_during_a_40_group_fanout_repeats_at_most_the_window(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bot.db"
    async with LateBridge(PROMPT) as bridge, aiohttp.ClientSession() as http:
        port = free_port()
        cfg = write_config(tmp_path, port, config_body(bridge.url, FANOUT))
        proc = ServeProcess(cfg, tmp_path, port)
        try:
            proc.start()
            await proc.wait_healthy(http)

            async def broadcast(gid: str) -> None:
                url = f"{proc.base}/api/groups/{gid}/messages"
                auth = {"Authorization": f"Bearer {API}"}
                async with http.post(url, json={"text": f"通知 {gid}"}, headers=auth) as r:
                    assert r.status == 202, await r.text()

            await asyncio.gather(*(broadcast(g) for g in FANOUT))
            # the prompt answers are marked, then the sends in flight wait for their answers:
            # with the window, exactly PROMPT + IN_FLIGHT posts are carried out and no more
            carried = min(len(FANOUT), PROMPT + IN_FLIGHT)
            await wait_for(lambda: len(bridge.posts()) >= carried, 60, "the fan-out under way")
            await wait_for(lambda: queued(db) <= len(FANOUT) - PROMPT, 60, "prompt posts marked")
            await restart_and_flush(proc, http, bridge, db)
        finally:
            proc.close()

    per_group = Counter(g for g, _ in bridge.posts())
    assert set(per_group) == set(FANOUT), "a group never got its post"
    assert max(per_group.values()) <= 2, per_group
    repeated = sum(n - 1 for n in per_group.values())
    assert repeated <= IN_FLIGHT, f"{repeated} posts repeated, the bound is {IN_FLIGHT}"


@pytest.mark.slow
async def test_sigkill_during_a_merged_reply_repeats_at_most_the_merge_cap(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bot.db"
    async with LateBridge(0) as bridge, aiohttp.ClientSession() as http:
        port = free_port()
        cfg = write_config(tmp_path, port, config_body(bridge.url, [MERGE_GROUP]))
        proc = ServeProcess(cfg, tmp_path, port)
        try:
            proc.start()
            await proc.wait_healthy(http)
            # the bridge fails every send until all replies are queued, so they fall due
            # together when the first retry's backoff is over
            bridge.fail_next(10**6)
            gid, uids = int(MERGE_GROUP), [700_000 + i for i in range(MEMBERS)]
            for i, uid in enumerate(uids):
                body = group_message(gid, uid, i + 1, "/签到")
                assert await post_onebot(http, proc.base, SECRET, body) == 204

            def all_queued() -> bool:
                sql = "select count(*) from inbox where platform = 'onebot' and status = 'done'"
                done = query(db, sql)[0][0]
                return done == MEMBERS and queued(db) == MEMBERS

            await wait_for(all_queued, 60, "every reply queued")
            bridge._fail.clear()
            await wait_for(lambda: len(bridge.posts()) >= 1, 90, "the merged reply carried out")
            await restart_and_flush(proc, http, bridge, db)
        finally:
            proc.close()

    lines = Counter(line for _, text in bridge.posts() for line in text.split("\n"))
    for uid in uids:
        assert any(line.startswith(f"✅ m{uid} 签到成功") for line in lines), uid
    repeated = sum(n - 1 for n in lines.values())
    assert 0 < repeated <= MERGE_MAX, f"{repeated} replies repeated, the bound is {MERGE_MAX}"
