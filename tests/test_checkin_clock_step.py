"""Over signed POST /onebot: a wall clock that steps back over midnight never rewrites the
stored check-in streak (a check-in for a day before the member's last day is refused)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.adapters.onebot import sign
from bot.web.app import create_app
from handlers.checkin.logic import run_ending_at
from storage.models_checkin import Checkin, CheckinStats
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

SECRET = "hmac-secret"
SH = ZoneInfo("Asia/Shanghai")


async def test_backward_step_over_midnight_keeps_the_streak(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> None:
    h = await make_harness(
        {
            "onebot": {"secret": SECRET, "api_url": bridge.url, "access_token": "bridge-token"},
            "groups": [{"id": "10001", "platform": "onebot"}],
        }
    )
    client = await aiohttp_client(create_app(h.bot, manage=False))
    mid = 0

    async def checkin_at(local: datetime) -> str:
        nonlocal mid
        mid += 1
        h.clock.set(local.replace(tzinfo=SH))
        body = json.dumps(
            {
                "time": int(local.replace(tzinfo=SH).timestamp()),
                "self_id": 999,
                "post_type": "message",
                "message_type": "group",
                "sub_type": "normal",
                "message_id": mid,
                "group_id": 10001,
                "user_id": 555,
                "message": [{"type": "text", "data": {"text": "/签到"}}],
                "sender": {"user_id": 555, "nickname": "阿明", "role": "member"},
            },
            ensure_ascii=False,
        ).encode()
        headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
        assert (await client.post("/onebot", data=body, headers=headers)).status == 204
        await h.bot.drain()
        return bridge.sent_texts()[-1]

    async def stored() -> tuple[set[date], CheckinStats]:
        async with h.bot.db.read() as s:
            days = set((await s.scalars(select(Checkin.day).where(Checkin.user_id == "555"))).all())
            st = await s.scalar(select(CheckinStats).where(CheckinStats.user_id == "555"))
        assert st is not None
        return days, st

    assert "签到成功" in await checkin_at(datetime(2026, 11, 16, 9, 0))
    assert "签到成功" in await checkin_at(datetime(2026, 11, 18, 0, 30))  # the 17th was missed
    # the clock steps back to 23:30 on the 17th: that day is before the last check-in
    assert "已经签到过" in await checkin_at(datetime(2026, 11, 17, 23, 30))
    days, st = await stored()
    assert days == {date(2026, 11, 16), date(2026, 11, 18)}
    assert st.last_day == date(2026, 11, 18) and st.streak == 1
    # the clock catches up; the next day continues the run the rows show
    assert "连续 2 天" in await checkin_at(datetime(2026, 11, 19, 9, 0))
    days, st = await stored()
    assert st.last_day == max(days) and st.streak == run_ending_at(days, max(days)) == 2
