"""One poisoned, correctly signed event must fail only its own request.

Rules checked (bot/adapters/base.py, bot/inbox.py, bot/web/ingest.py):
- A signed, encrypted WeCom callback whose inner XML nests thousands of elements (under the
  64 KiB cap) is refused with 400 before it becomes a tree; deeply nested JSON on /onebot and
  /wecom/aibot likewise; an unknown event larger than ``UNKNOWN_KEEP_BYTES`` is refused (413).
- Inbox rows are written in shared batches; an event whose row cannot be encoded fails only
  its own ``submit`` — the events that share its batch are stored and acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.adapters import wecom_sign
from bot.adapters.onebot import sign
from bot.adapters.wecom import MAX_BODY, WeComKeys
from bot.events import Scheduled, UnknownEvent
from bot.web.app import create_app
from storage.models import InboxEvent
from tests.harness import Harness
from tests.reliability.serve import group_message

AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP = WeComKeys("apptoken", AES, "wwcorp")
AIBOT = WeComKeys("aibottoken", AES[::-1], "")
SECRET = "poison-secret"
GROUP = 40001


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> tuple[Harness, TestClient]:
    h = await make_harness(
        {
            "onebot": {"secret": SECRET},
            "wecom": {
                "corp_id": "wwcorp",
                "token": APP.token,
                "encoding_aes_key": AES,
                "aibot": {"token": AIBOT.token, "encoding_aes_key": AIBOT.encoding_aes_key},
            },
            "groups": [{"id": str(GROUP), "platform": "console", "name": "毒群"}],
        }
    )
    return h, await aiohttp_client(create_app(h.bot, manage=False))


def deep_xml(levels: int) -> str:
    return (
        "<xml><MsgType>event</MsgType><Event>poison</Event>"
        + "<a>" * levels
        + "</a>" * levels
        + "</xml>"
    )


async def stored(h: Harness, platform: str) -> int:
    async with h.bot.db.read() as s:
        q = select(func.count()).select_from(InboxEvent).where(InboxEvent.platform == platform)
        return int(await s.scalar(q) or 0)


async def post_onebot(client: TestClient, body: bytes) -> int:
    headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
    return (await client.post("/onebot", data=body, headers=headers)).status


async def test_poisoned_wecom_event_fails_alone(setup: tuple[Harness, TestClient]) -> None:
    h, client = setup
    q, body = wecom_sign.sign_post_xml(APP, deep_xml(6000), int(time.time()), "poison-1")
    assert len(body) < MAX_BODY  # under the size cap: only the depth bound refuses it
    bodies = [group_message(GROUP, 1000 + i, i, f"闲聊 {i}") for i in range(320)]
    # the poison and 320 unrelated events arrive together and share the inbox's batches
    poison = asyncio.ensure_future(client.post("/wecom/callback", params=q, data=body))
    statuses = await asyncio.gather(*(post_onebot(client, b) for b in bodies))
    assert (await poison).status == 400
    assert statuses.count(204) == 320, sorted(set(statuses))
    assert await stored(h, "onebot") == 320
    assert await stored(h, "wecom") == 0


async def test_deep_json_and_large_unknown_events_are_refused(
    setup: tuple[Harness, TestClient],
) -> None:
    from bot.adapters.base import UNKNOWN_KEEP_BYTES

    h, client = setup
    deep = {"post_type": "notice", "notice_type": "x", "v": json.loads("[" * 200 + "]" * 200)}
    assert await post_onebot(client, json.dumps(deep).encode()) == 400
    big = {"post_type": "request", "comment": "x" * (UNKNOWN_KEEP_BYTES + 10)}
    assert await post_onebot(client, json.dumps(big).encode()) == 413
    inner = {"msgid": "m1", "msgtype": "event", "event": {"x": json.loads("[" * 200 + "]" * 200)}}
    q, body = wecom_sign.sign_post_aibot(AIBOT, inner, int(time.time()), "deep-aibot")
    assert (await client.post("/wecom/aibot", params=q, data=body)).status == 400
    assert await stored(h, "onebot") + await stored(h, "aibot") == 0
    # an ordinary unknown event is still kept for the record
    small = {"post_type": "request", "request_type": "friend", "comment": "hi", "flag": "f"}
    assert await post_onebot(client, json.dumps(small).encode()) == 204
    assert await stored(h, "onebot") == 1


async def test_inbox_row_that_cannot_be_encoded_fails_only_its_own_submit(
    harness: Harness,
) -> None:
    """Behind the adapters' bounds: the inbox itself keeps one bad row out of a shared batch."""
    from bot.inbox import Unstorable

    h = harness
    at = datetime(2026, 11, 20, tzinfo=UTC)
    nested: list[object] = []
    for _ in range(5000):
        nested = [nested]
    # (an UnknownEvent keeps no body any more: a job's data carries the unencodable value)
    bad = Scheduled("t:bad", "onebot", None, at, job="x", data={"v": nested})
    good = [UnknownEvent(f"t:ok:{i}", "onebot", None, at, name="x") for i in range(50)]
    results = await asyncio.gather(
        h.bot.inbox.submit(bad), *(h.bot.inbox.submit(e) for e in good), return_exceptions=True
    )
    assert isinstance(results[0], Unstorable)
    assert all(getattr(r, "new", False) for r in results[1:]), results[1:3]
    assert await stored(h, "onebot") == 50
