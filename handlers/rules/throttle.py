"""What keeps a flood from being amplified by the bot itself.

Rules:
- Admin alerts from the rules are capped at ``[rules] alerts_per_minute`` per group, counted on
  the monotonic clock of this process over the last 60 s. Alerts over the cap are dropped;
  the next alert let through says how many were left out.
- Bot commands never count as flooding. A member who repeats the same command (``/签到``
  tapped again and again) gets at most ``[rules] command_answers`` answers within
  ``command_seconds``; the repeats beyond are not answered at all. A 智能机器人 callback is
  not throttled: each is one @-mention whose answer WeCom waits for.
- Both remember their decision per stored event, so a re-run of an event (batch rollback)
  reaches the same decision instead of counting twice.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

from bot import Context, StateKey
from handlers.rules.config import RulesConfig
from handlers.rules.logic import FloodTracker

KEPT = 10_000
WINDOW_S = 60.0


class AlertCap:
    """At most ``per_minute`` alerts per group in any 60 s, on the monotonic clock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.sent: dict[str, deque[float]] = {}
        self.dropped: dict[str, int] = {}
        self.verdicts: OrderedDict[int, int | None] = OrderedDict()

    def allow(self, group_id: str, per_minute: int, event_id: int | None) -> int | None:
        """None when this alert is over the cap; else how many alerts were dropped before it."""
        if event_id is not None and event_id in self.verdicts:
            return self.verdicts[event_id]
        now = self.clock()
        q = self.sent.setdefault(group_id, deque())
        while q and q[0] <= now - WINDOW_S:
            q.popleft()
        verdict: int | None
        if len(q) >= per_minute:
            self.dropped[group_id] = self.dropped.get(group_id, 0) + 1
            verdict = None
        else:
            q.append(now)
            verdict = self.dropped.pop(group_id, 0)
        if event_id is not None:
            self.verdicts[event_id] = verdict
            while len(self.verdicts) > KEPT:
                self.verdicts.popitem(last=False)
        return verdict


class CommandThrottle:
    """The same command from the same member: at most ``answers`` answers per window."""

    def __init__(self, answers: int, seconds: float) -> None:
        self.tracker = FloodTracker(0, seconds, answers + 1)
        self.verdicts: OrderedDict[int, bool] = OrderedDict()

    def over(self, ctx: Context, command: str) -> bool:
        assert ctx.group_id is not None
        eid = ctx.event_id
        if eid is not None and eid in self.verdicts:
            return self.verdicts[eid]
        hit = self.tracker.record(ctx.group_id, ctx.user_id, command, ctx.now().timestamp())
        verdict = hit is not None
        if eid is not None:
            self.verdicts[eid] = verdict
            while len(self.verdicts) > KEPT:
                self.verdicts.popitem(last=False)
        return verdict


ALERT_CAP: StateKey[AlertCap] = StateKey("rules.alert_cap", AlertCap)
THROTTLES: StateKey[dict[str, CommandThrottle]] = StateKey("rules.command_throttle", dict)


def command_throttle(ctx: Context, cfg: RulesConfig) -> CommandThrottle:
    throttles = ctx.services.state.need(THROTTLES)
    key = f"{cfg.command_answers}:{cfg.command_seconds}"
    if key not in throttles:
        throttles[key] = CommandThrottle(cfg.command_answers, cfg.command_seconds)
    return throttles[key]


async def alert_admins(ctx: Context, cfg: RulesConfig, text: str) -> None:
    """Tell the admins, within the group's alert cap."""
    assert ctx.group_id is not None
    cap = ctx.services.state.need(ALERT_CAP)
    dropped = cap.allow(ctx.group_id, cfg.alerts_per_minute, ctx.event_id)
    if dropped is None:
        return
    if dropped:
        text += f"\n（此前 1 分钟内另有 {dropped} 条群规提醒因过多未发送）"
    await ctx.notify_admins(text)
