"""``groupbot chat``: play the members of a console group in a terminal.

Every line you type becomes a real event that goes through the inbox, the dispatcher and the
outbox, exactly as a platform's would; the bot's answers are printed. Lines starting with ``:``
steer the session (``:help`` lists them). The clock can be moved forward (``:wait 1d``) to try
streaks, qualifications and schedules without waiting: the wall and the monotonic clock move
together, so the periodic jobs that fell due meanwhile (greetings, the settlement of invites,
the programme's tick) run once each before the prompt comes back.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import datetime, timedelta
from typing import TypedDict

from bot.adapters.base import clean_text
from bot.chat_io import LineReader, Terminal, converse
from bot.clock import SystemClock
from bot.config import Config
from bot.events import Event, MemberJoined, MemberLeft, MessageReceived
from bot.runtime import Bot

HELP = """指令 (commands):
  任意文字            以当前身份在群里发言 (say something; /帮助 lists bot commands)
  :as NAME [owner|admin|member]   切换身份 (switch who you are, with a platform role)
  :join NAME [by INVITER]          有人入群 (someone joins, optionally invited)
  :leave NAME | :kick NAME         有人退群 / 被移出
  :private TEXT                    私聊机器人 (talk to the bot privately)
  :wait 10m | 3h | 2d              时间前进 (move the clock forward; due jobs run)
  :group ID                        切换群 (switch group)
  :quit                            退出"""


class OffsetClock(SystemClock):
    """The real clock plus an offset the session can move forward (wall and monotonic alike:
    time passes)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return super().now() + self.offset

    def time(self) -> float:
        return super().time() + self.offset.total_seconds()

    def monotonic(self) -> float:
        return super().monotonic() + self.offset.total_seconds()


def parse_duration(text: str) -> timedelta:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise ValueError("use a number with s, m, h or d, e.g. 10m or 2d")
    return timedelta(seconds=int(text[:-1]) * units[text[-1]])


class _Base(TypedDict):
    """The fields every event of the session shares."""

    dedup_key: str
    platform: str
    group_id: str | None
    occurred_at: datetime


class ChatSession:
    """The state of one terminal session; ``handle`` takes one typed line."""

    def __init__(self, bot: Bot, clock: OffsetClock, group: str, user: str) -> None:
        self.bot = bot
        self.clock = clock
        self.group = group
        self.user = user
        self.role = ""

    def _base(self, private: bool = False) -> _Base:
        return {
            "dedup_key": f"console:{uuid.uuid4().hex}",
            "platform": "console",
            "group_id": None if private else self.group,
            "occurred_at": self.clock.now(),
        }

    async def _submit(self, event: Event) -> None:
        await self.bot.inbox.submit(event)
        await self.bot.drain()

    async def handle(self, line: str) -> bool:
        """Process one line; False when the session should end. A lone surrogate (bytes the
        terminal could not decode) becomes U+FFFD, as on every platform's adapter."""
        line = clean_text(line).strip()
        if not line:
            return True
        if not line.startswith(":"):
            ev = MessageReceived(
                **self._base(),
                user_id=self.user,
                user_name=self.user,
                text=line,
                message_id=uuid.uuid4().hex[:12],
                sender_role=self.role,
            )
            await self._submit(ev)
            return True
        cmd, _, rest = line[1:].partition(" ")
        words = rest.split()
        if cmd in ("quit", "exit", "q"):
            return False
        if cmd == "help":
            print(HELP)
        elif cmd == "as" and words:
            self.user = words[0]
            self.role = words[1] if len(words) > 1 and words[1] in ("owner", "admin") else ""
            print(f"(你现在是 {self.user}{' / ' + self.role if self.role else ''})")
        elif cmd == "join" and words:
            inviter = words[2] if len(words) > 2 and words[1] == "by" else ""
            await self._submit(
                MemberJoined(
                    **self._base(),
                    user_id=words[0],
                    user_name=words[0],
                    inviter_id=inviter,
                    inviter_source="console" if inviter else "",
                )
            )
        elif cmd in ("leave", "kick") and words:
            await self._submit(
                MemberLeft(
                    **self._base(),
                    user_id=words[0],
                    operator_id=self.user if cmd == "kick" else words[0],
                    kicked=cmd == "kick",
                )
            )
        elif cmd == "private" and rest:
            base = self._base(private=True)
            ev = MessageReceived(**base, user_id=self.user, user_name=self.user, text=rest)
            await self._submit(ev)
        elif cmd == "wait" and words:
            try:
                self.clock.offset += parse_duration(words[0])
            except ValueError as exc:
                print(f"(? {exc})")
                return True
            local = self.clock.now().astimezone(self.bot.config.timezone(self.group))
            print(f"(现在是 {local:%Y-%m-%d %H:%M})")
            await self.bot.jobs.run_due()  # what fell due meanwhile, once each
            self.bot.jobs.wake()  # (the runner's tasks sleep for times the offset moved)
            await self.bot.drain()
        elif cmd == "group" and words:
            self.group = words[0]
            print(f"(切换到群 {self.group})")
            _warn_unmanaged(self.bot.config, self.group)
        else:
            print("(? 输入 :help 查看用法)")
        return True


def _warn_unmanaged(config: Config, gid: str) -> None:
    if config.group_mode(gid) != "manage":
        print(f"（群 {gid} 不在 [[groups]] 里，[bot] unknown_groups 不是 manage：机器人不会回应）")


async def run_chat(config: Config, group: str | None = None, user: str = "alice") -> int:
    """The session: 0 after ``:quit`` or the end of input, 130 after Ctrl-C (bot/chat_io.py)."""
    console = [g.id for g in config.groups if g.platform == "console"]
    gid = group or (console[0] if console else "console-demo")
    clock = OffsetClock()
    term = Terminal(sys.stdout, interactive=sys.stdin.isatty())
    bot = Bot(config, clock, workers=False, console_sink=term.line)
    await bot.start()
    session = ChatSession(bot, clock, gid, user)

    def banner() -> None:
        intro = f"groupbot chat — 群 {gid}，你是 {user}。输入 :help 查看用法，:quit 退出。"
        print(intro, flush=True)
        _warn_unmanaged(config, gid)

    reader = LineReader(asyncio.get_running_loop(), sys.stdin)
    try:
        return await converse(
            reader, term, lambda: f"{session.user}> ", session.handle, bot.drain, banner
        )
    finally:
        await bot.stop()
