"""Crash and restart: SIGKILL `groupbot serve` in the middle of ~1,000 signed OneBot events.

Rules checked:
- Every acknowledged event (204) is in the inbox the moment it was acknowledged, survives the
  kill, and is applied exactly once after the restart — also when the bridge redelivers it.
- Events that were not acknowledged are redelivered by the bridge and applied exactly once.
- One check-in row per member and local day; the members with a check-in are exactly the
  members who sent ``/签到``; no reward is claimed twice.
- Outbound messages are never lost: every outbox row marked ``sent`` reached the bridge.
  (Admin alerts such as capacity notices go to the console channel and are not counted.)
  Duplicate window (docs/reliability.md): a row the bridge accepted but that was not yet marked
  ``sent`` when the process died is sent once more after the restart. Rows of one target go
  out one at a time and at most ``[bot] sends_in_flight`` messages wait for an answer at once,
  so a crash duplicates at most one message per target (group or private chat) and at most
  that many in all — the test allows exactly that many extra deliveries and no more.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import aiohttp
import pytest

from bot.adapters import onebot
from bot.adapters.base import Request
from bot.sections import BotConfig
from tests.fakes.onebot_bridge import FakeOneBot
from tests.fakes.server import free_port
from tests.reliability.serve import (
    ServeProcess,
    group_message,
    join_notice,
    post_onebot,
    query,
    wait_for,
    write_config,
)

SECRET = "crash-secret"
BRIDGE_TOKEN = "crash-bridge-token"
GROUPS = (20001, 20002, 20003)
KILL_AFTER = 350  # acknowledgements before the SIGKILL


def config_body(bridge_url: str) -> str:
    groups = "".join(
        f'[[groups]]\nid = "{g}"\nplatform = "onebot"\nname = "群{g}"\n' for g in GROUPS
    )
    return f"""
[bot]
api_token = "crash-api"
[onebot]
secret = "{SECRET}"
api_url = "{bridge_url}"
access_token = "{BRIDGE_TOKEN}"
[welcome]
window_s = 0
max_wait_s = 0
raid_joins = 100000
[referral]
qualify_days = 0
tiers = [{{ invites = 1, reward = "红包" }}]
{groups}"""


def workload() -> tuple[list[bytes], set[tuple[str, str]]]:
    """~1,000 mixed events (joins with and without inviter, check-ins, chatter, claims) in a
    fixed shuffled order, and the (group, member) pairs that sent ``/签到``."""
    rnd = random.Random(20261118)
    events: list[bytes] = []
    checkers: set[tuple[str, str]] = set()
    mid = 0
    for n in range(1000):
        gid = GROUPS[n % len(GROUPS)]
        uid = 100_000 + n
        mid += 1
        kind = n % 10
        if kind < 2:
            inviter = 100_000 + (n // 10) if kind == 1 else 0
            events.append(join_notice(gid, uid, mid, inviter))
        elif kind < 6:
            events.append(group_message(gid, uid, mid, "/签到 今天也很好"))
            checkers.add((str(gid), str(uid)))
        elif kind < 9:
            events.append(group_message(gid, uid, mid, f"大家好 {n}"))
        else:
            events.append(group_message(gid, 100_000 + (n // 10), mid, "/领奖"))
    rnd.shuffle(events)
    return events, checkers


def dedup_key(body: bytes) -> str:
    """The key the server stores ``body`` under (the adapter is pure, so ask it)."""
    req = Request(headers={"Content-Type": "application/json"}, body=body)
    event = onebot.parse("", req, time.time())
    assert event is not None
    return event.dedup_key


def bridge_messages(bridge: FakeOneBot) -> list[list[str]]:
    """The lines of every message the bridge was asked to send (replies due together are
    merged into one message, one reply per line)."""
    return [
        params["message"][-1]["data"]["text"].split("\n")
        for action, params in bridge.calls
        if action in ("send_group_msg", "send_private_msg")
    ]


def lines_of(texts: Iterable[str]) -> Counter[str]:
    return Counter(line for t in texts for line in t.split("\n"))


def repeats(messages: list[list[str]]) -> int:
    """Messages whose every line had been sent before (a re-send after a crash)."""
    seen: set[str] = set()
    n = 0
    for lines in messages:
        n += all(line in seen for line in lines)
        seen.update(lines)
    return n


async def send_all(
    http: aiohttp.ClientSession,
    proc: ServeProcess,
    bodies: list[bytes],
    kill_after: int | None = None,
) -> list[int | None]:
    """Post every body with 16 in flight; SIGKILL the server after ``kill_after`` acks."""
    sem = asyncio.Semaphore(16)
    acks = 0
    killed = False

    async def one(body: bytes) -> int | None:
        nonlocal acks, killed
        async with sem:
            if killed:
                return None
            status = await post_onebot(http, proc.base, SECRET, body)
            if status == 204:
                acks += 1
                if kill_after is not None and acks >= kill_after and not killed:
                    killed = True
                    proc.kill()
            return status

    return list(await asyncio.gather(*(one(b) for b in bodies)))


@pytest.mark.slow
async def test_sigkill_mid_load_then_redelivery_applies_everything_once(tmp_path: Path) -> None:
    bodies, checkers = workload()
    keys = [dedup_key(b) for b in bodies]
    db = tmp_path / "bot.db"
    async with FakeOneBot(access_token=BRIDGE_TOKEN) as bridge, aiohttp.ClientSession() as http:
        port = free_port()
        proc = ServeProcess(write_config(tmp_path, port, config_body(bridge.url)), tmp_path, port)
        try:
            proc.start()
            await proc.wait_healthy(http)
            statuses = await send_all(http, proc, bodies, kill_after=KILL_AFTER)
            assert set(statuses) <= {204, None}
            acked = {k for k, s in zip(keys, statuses, strict=True) if s == 204}
            assert len(acked) >= KILL_AFTER and len(acked) < len(set(keys)), "kill not mid-load"

            # durability: every acknowledged event is on disk right after the kill
            stored = {k for (k,) in query(db, "select dedup_key from inbox")}
            assert acked <= stored

            # restart; the bridge redelivers what was not acknowledged plus every 10th ack
            proc.start()
            await proc.wait_healthy(http)
            again = [
                b
                for i, (b, k, s) in enumerate(zip(bodies, keys, statuses, strict=True))
                if s != 204 or i % 10 == 0
            ]
            assert all(s == 204 for s in await send_all(http, proc, again))

            distinct = len(set(keys))

            def settled() -> bool:
                inbox = dict(
                    query(
                        db,
                        "select status, count(*) from inbox where platform = 'onebot' "
                        "group by status",
                    )
                )
                busy = query(db, "select count(*) from outbox where status = 'queued'")[0][0]
                return inbox == {"done": distinct} and busy == 0

            await wait_for(settled, 90, "all events processed and the outbox flushed")
        finally:
            proc.close()

        # exactly once: one inbox row per event, one check-in per member and day
        assert query(db, "select count(*) from inbox where platform = 'onebot'")[0][0] == distinct
        per_day = query(
            db, "select group_id, user_id, day, count(*) from checkins group by 1, 2, 3"
        )
        assert per_day and all(n == 1 for *_, n in per_day)
        assert {(g, u) for g, u, _, _ in per_day} == checkers
        totals = query(db, "select total_days, count(*) from checkin_stats group by 1")
        assert totals == [(1, len(checkers))]
        claims = query(db, "select count(*) from reward_claims group by group_id, user_id, tier")
        assert all(n == 1 for (n,) in claims)

        # outbound: nothing lost, duplicates only inside the documented window
        assert query(db, "select count(*) from outbox where status != 'sent'")[0][0] == 0
        rows = query(db, "select payload, target from outbox where channel = 'onebot'")
        believed = lines_of(json.loads(p)["text"] for p, _ in rows)
        targets = {t for _, t in rows}
        messages = bridge_messages(bridge)
        got = Counter(line for lines in messages for line in lines)
        lost = believed - got
        assert not lost, f"messages marked sent but never delivered: {list(lost)[:5]}"
        extra = got - believed
        # a re-send repeats one whole (possibly merged) message per target at most, and no
        # more than the in-flight window in all
        bound = min(len(targets), BotConfig().sends_in_flight)
        assert repeats(messages) <= bound, f"duplicates beyond the window: {extra}"
        for g, u in checkers:
            oks = [t for t in got.elements() if t.startswith(f"✅ m{u} 签到成功")]
            assert 1 <= len(oks) <= 2, (g, u, oks)
