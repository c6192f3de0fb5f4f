"""Runs stored events through the routers, one unit of work per event.

Rules:
- Events are taken from the inbox in id order, a batch at a time; each event runs inside its
  own savepoint, and the event is marked ``done`` in that same savepoint — so its effects and
  its "done" commit together, and a crash before the commit re-runs it cleanly.
- A handler error rolls back that event only; it is retried with backoff, and after
  ``max_attempts`` it ends as ``failed`` with the error kept for admins. Never dropped silently.
- A member running a command above their role gets a polite refusal and nothing changes; an
  unknown command gets a one-line hint to ``/帮助``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot import templates
from bot.commands import parse
from bot.dispatch.context import Context
from bot.dispatch.router import STOP
from bot.dispatch.tracking import resolve_role, track
from bot.events import MessageReceived, from_payload
from bot.logs import event_id_var
from bot.services import Services
from storage.models import InboxEvent

log = logging.getLogger("groupbot.dispatch")

T_REFUSED = templates.register(
    "core.refused", "抱歉，{command} 只有{role}可以使用。", "command", "role", "group", "bot"
)
T_UNKNOWN = templates.register(
    "core.unknown_command",
    "没有 {command} 这个指令，发送 /帮助 查看可用指令。",
    "command",
    "group",
    "bot",
)
T_GROUP_ONLY = templates.register(
    "core.group_only", "{command} 需要在群里使用。", "command", "group", "bot"
)


class Dispatcher:
    def __init__(self, services: Services, max_attempts: int = 5) -> None:
        self.services = services
        self.max_attempts = max_attempts
        self.processed = 0
        self.failed = 0

    async def run_once(self, limit: int | None = None) -> int:
        """Process one batch of due events; returns how many were taken."""
        db = self.services.db
        limit = limit or self.services.config.storage.batch_size
        now = self.services.clock.now()
        async with db.transaction() as session:
            q = (
                select(InboxEvent)
                .where(InboxEvent.status == "queued", InboxEvent.next_attempt_at <= now)
                .order_by(InboxEvent.id)
                .limit(limit)
            )
            if db.dialect == "postgresql":
                q = q.with_for_update(skip_locked=True)
            rows = list((await session.scalars(q)).all())
            for row in rows:
                await self._one(session, row)
        return len(rows)

    async def _one(self, session: Any, row: InboxEvent) -> None:
        token = event_id_var.set(row.id)
        try:
            try:
                async with session.begin_nested():
                    await self.handle(session, row)
                    row.status = "done"
                    row.processed_at = self.services.clock.now()
                    row.attempts += 1
                self.processed += 1
            except Exception as exc:  # one bad event must not stop the others
                log.exception("event %s (%s) failed", row.id, row.kind)
                await session.refresh(row)
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if row.attempts >= self.max_attempts:
                    row.status = "failed"
                    self.failed += 1
                else:
                    delay = min(300, 2**row.attempts)
                    row.next_attempt_at = self.services.clock.now() + timedelta(seconds=delay)
                await session.flush()
        finally:
            event_id_var.reset(token)

    async def handle(self, session: Any, row: InboxEvent) -> None:
        """Build the Context for one stored event and run the matching handlers."""
        event = from_payload(row.payload)
        ctx = Context(self.services, session, event, event_id=row.id)
        await run_handlers(ctx)


async def run_handlers(ctx: Context) -> None:
    """Tracking, command parsing, permissions, then every matching route in order."""
    event = ctx.event
    services = ctx.services
    if isinstance(event, MessageReceived) and ctx.is_self(event.user_id):
        return  # our own messages echoed back by a bridge
    await track(ctx)
    if isinstance(event, MessageReceived):
        ctx.command = parse(event.text, services.registry, event.mentions, services.bot_names)
    ctx.role = await resolve_role(ctx)
    cmd = ctx.command
    handled = False
    for router in services.routers:
        for route in router.routes:
            if not isinstance(event, route.event_type):
                continue
            if route.command is not None:
                if cmd is None or cmd.spec is not route.command:
                    continue
                handled = True
                if ctx.role < route.command.role:
                    await ctx.reply(
                        ctx.render(
                            T_REFUSED, command="/" + cmd.typed, role=route.command.role.label
                        )
                    )
                    return
                if ctx.group_id is None and not route.command.private_ok:
                    await ctx.reply(ctx.render(T_GROUP_ONLY, command="/" + cmd.typed))
                    return
            if any(not f(ctx) for f in route.filters):
                continue
            result = await route.handler(ctx)
            if result is STOP or route.command is not None:
                return
    if cmd is not None and not handled and not cmd.known:
        await ctx.reply(ctx.render(T_UNKNOWN, command="/" + cmd.typed))
