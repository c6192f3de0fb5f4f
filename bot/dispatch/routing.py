"""Running one event's handlers: tracking, command parsing, the role, then the routes.

Rules:
- Our own messages echoed back by a bridge are ignored; an event of a group not in
  ``[[groups]]`` is stored and at most observed (``admit``).
- Routers run in the features' order, each route in its router's order; a command route ends
  the event, as does a handler that returns ``STOP``.
- A member running a command above their role gets a polite refusal and nothing changes; a
  group-only command used privately says so; an unknown command gets a one-line hint to
  ``/帮助``.
"""

from __future__ import annotations

from bot import templates
from bot.commands import parse
from bot.dispatch.context import Context
from bot.dispatch.router import STOP, Route
from bot.dispatch.tracking import admit, resolve_role
from bot.events import Event, MessageReceived
from bot.services import Services

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


def _routes(services: Services, event: Event, spec: object) -> list[Route]:
    """The routes, in order, that an event of this type with this command (or none) can
    reach: the ones for its type, command routes only for its command. Kept per (type,
    command, number of routes) — a route added later makes a new entry."""
    routers = services.routers
    key = (type(event), spec, sum(len(r.routes) for r in routers))
    found = services.route_index.get(key)
    if found is None:
        found = [
            route
            for router in routers
            for route in router.routes
            if isinstance(event, route.event_type)
            and (route.command is None or route.command is spec)
        ]
        services.route_index[key] = found
    return found


async def run_handlers(ctx: Context) -> None:
    """Tracking, command parsing, permissions, then every matching route in order."""
    event = ctx.event
    services = ctx.services
    if isinstance(event, MessageReceived) and ctx.is_self(event.user_id):
        return  # our own messages echoed back by a bridge
    if not await admit(ctx):  # tracking; a group not in [[groups]]: stored, at most observed
        return
    if isinstance(event, MessageReceived):
        ctx.command = parse(event.text, services.registry, event.mentions, services.bot_names)
    ctx.role = await resolve_role(ctx)
    cmd = ctx.command
    handled = False
    for route in _routes(services, event, None if cmd is None else cmd.spec):
        if route.command is not None:  # (the index holds this command's routes only)
            assert cmd is not None
            handled = True
            if ctx.role < route.command.role:
                await ctx.reply(
                    ctx.render(T_REFUSED, command="/" + cmd.typed, role=route.command.role.label)
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
