"""Dispatch-level test harness: a real bot on a temporary SQLite file (or a fresh PostgreSQL
database when ``GROUPBOT_TEST_DB`` is set, see tests/pgdb.py), a fake clock, and
helpers that play members. Events go through the real inbox, dispatcher and outbox; the
console sender records what the bot said.

    async def test_x(make_harness):
        h = await make_harness({"checkin": {"base_points": 5}})
        said = await h.say("alice", "/签到")
        assert "签到成功" in said[0]
"""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.config import Config, parse_config
from bot.events import Event, Image, MemberJoined, MemberLeft, MessageReceived
from bot.runtime import Bot
from handlers import FEATURES
from tests import pgdb
from tests.fakes.clock import FakeClock

BASE: dict[str, Any] = {
    "bot": {"timezone": "Asia/Shanghai", "admins": ["root"], "api_token": "test-api-token"},
    "groups": [
        {"id": "g1", "platform": "console", "name": "测试群", "admins": ["gadmin"], "tags": ["t"]},
        {"id": "g2", "platform": "console", "name": "二群", "tags": ["t"]},
    ],
}


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def make_config(
    tmp_path: Path, extra: dict[str, Any] | None = None, db_name: str = "t.db"
) -> Config:
    data = merge(BASE, extra or {})
    data.setdefault("storage", {})
    data["storage"].setdefault("url", pgdb.database_url(tmp_path, db_name))
    return parse_config(data, FEATURES, environ={})


class Harness:
    def __init__(self, bot: Bot, clock: FakeClock) -> None:
        self.bot = bot
        self.clock = clock
        self._seen = 0

    @property
    def lines(self) -> list[str]:
        """Everything the console sender printed so far."""
        return self.bot.console.lines

    def new_lines(self) -> list[str]:
        out = self.lines[self._seen :]
        self._seen = len(self.lines)
        return out

    def _base(self, group: str | None) -> dict[str, Any]:
        return {
            "dedup_key": f"test:{uuid.uuid4().hex}",
            "platform": "console",
            "group_id": group,
            "occurred_at": self.clock.now(),
        }

    async def feed(self, event: Event) -> list[str]:
        """Store an event, process everything due, return what the bot said meanwhile."""
        self.new_lines()
        await self.bot.inbox.submit(event)
        await self.bot.drain()
        return self.new_lines()

    async def say(
        self,
        user: str,
        text: str,
        group: str | None = "g1",
        *,
        role: str = "",
        mentions: tuple[str, ...] = (),
        images: tuple[Image, ...] = (),
        attachments: tuple[str, ...] = (),
        name: str = "",
    ) -> list[str]:
        ev = MessageReceived(
            **self._base(group),
            user_id=user,
            user_name=name or user,
            text=text,
            message_id=uuid.uuid4().hex[:10],
            sender_role=role,
            mentions=mentions,
            images=images,
            attachments=attachments,
        )
        return await self.feed(ev)

    async def join(self, user: str, group: str = "g1", inviter: str = "", **kw: Any) -> list[str]:
        ev = MemberJoined(
            **self._base(group),
            user_id=user,
            user_name=kw.pop("name", user),
            inviter_id=inviter,
            inviter_source=kw.pop("inviter_source", "console" if inviter else ""),
            **kw,
        )
        return await self.feed(ev)

    async def leave(self, user: str, group: str = "g1", kicked: bool = False) -> list[str]:
        ev = MemberLeft(**self._base(group), user_id=user, operator_id=user, kicked=kicked)
        return await self.feed(ev)

    async def run_jobs(self) -> list[str]:
        """Run the periodic jobs due by the (fake) monotonic clock, as the scheduler leader's
        runner would, process what they queued, and return what the bot said meanwhile."""
        self.new_lines()
        await self.bot.jobs.run_due()
        await self.bot.drain()
        return self.new_lines()

    async def advance(self, **delta: float) -> list[str]:
        """Move the clock (``days=1``, ``minutes=5`` …) and process what became due."""
        self.new_lines()
        self.clock.advance(timedelta(**delta))
        await self.bot.drain()
        return self.new_lines()


async def start_harness(tmp_path: Path, extra: dict[str, Any] | None = None, **kw: Any) -> Harness:
    config = make_config(tmp_path, extra)
    clock = kw.pop("clock", None) or FakeClock()
    # the jobs run only when a test says so (h.run_jobs()): the fake clock moves on its command
    bot = Bot(
        config,
        clock,
        workers=False,
        migrate=False,
        console_sink=lambda _line: None,
        run_jobs=False,
    )
    await bot.db.create_all()
    await bot.start()
    return Harness(bot, clock)
