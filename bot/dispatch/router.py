"""Routers: each feature has one ``router`` (``Feature.router``); the features list orders them.

Rules:
- Every handler whose event type and filters match runs, in router order, inside the event's
  one unit of work; a handler returns ``STOP`` to keep later handlers from seeing the event.
- A command handler matches only its own command; a matched command stops the event.
- Filters are small composable predicates over the Context.
- A job's handler (``@router.job(NAME)``) runs for the ``Scheduled`` events of that job only
  and is handed the event, typed.
- Bulk reads for a dispatcher batch are not a router's: a feature's repositories declare them
  (``Repository.preload``, listed in ``Feature.repositories``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.commands import CommandSpec, Registry, Role
from bot.events import Event, GroupChanged, MessageReceived, Scheduled

if TYPE_CHECKING:
    from bot.dispatch.context import Context

STOP = object()
Handler = Callable[["Context"], Awaitable[Any]]
Filter = Callable[["Context"], bool]
JobHandler = Callable[["Context", Scheduled], Awaitable[Any]]


def group_only(ctx: Context) -> bool:
    return ctx.group_id is not None


def private_only(ctx: Context) -> bool:
    return ctx.group_id is None


def not_command(ctx: Context) -> bool:
    return ctx.command is None


@dataclass(slots=True)
class Route:
    event_type: type[Event]
    handler: Handler
    filters: tuple[Filter, ...] = ()
    command: CommandSpec | None = None
    observes: bool = False  # also runs in observed groups: it only records, never answers
    discovers: bool = False  # also sees a group-created notice of a group the bot does not serve


@dataclass
class Router:
    """A feature's handlers, in the order they were declared."""

    name: str
    routes: list[Route] = field(default_factory=list)
    commands: list[CommandSpec] = field(default_factory=list)

    def on(
        self,
        event_type: type[Event],
        *filters: Filter,
        observes: bool = False,
        discovers: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Run for every event of this type that passes the filters. ``observes=True``: the
        handler only records (statistics) and also runs for groups the bot merely observes.
        ``discovers=True``: it also sees ``GroupChanged`` ``create`` notices of groups the bot
        ignores or observes (to decide whether to adopt them; it only records)."""

        def deco(fn: Handler) -> Handler:
            route = Route(event_type, fn, filters, observes=observes, discovers=discovers)
            self.routes.append(route)
            return fn

        return deco

    def job(self, name: str, *filters: Filter) -> Callable[[JobHandler], JobHandler]:
        """Run for the ``Scheduled`` events of job ``name`` that pass the filters; the handler
        is called as ``fn(ctx, event)``."""

        def is_job(ctx: Context) -> bool:
            ev = ctx.event
            return isinstance(ev, Scheduled) and ev.job == name

        def deco(fn: JobHandler) -> JobHandler:
            @functools.wraps(fn)
            async def run(ctx: Context) -> Any:
                ev = ctx.event
                assert isinstance(ev, Scheduled)
                return await fn(ctx, ev)

            self.routes.append(Route(Scheduled, run, (is_job, *filters)))
            return fn

        return deco

    def command(
        self,
        name: str,
        *aliases: str,
        help: str,
        role: Role = Role.MEMBER,
        usage: str = "",
        private_ok: bool = False,
        filters: tuple[Filter, ...] = (),
    ) -> Callable[[Handler], Handler]:
        """Register ``/name`` (and aliases). ``role`` is the least role that may run it."""
        spec = CommandSpec(name, aliases, help, role, usage, private_ok)
        self.commands.append(spec)

        def deco(fn: Handler) -> Handler:
            self.routes.append(Route(MessageReceived, fn, filters, spec))
            return fn

        return deco


async def observe(ctx: Context) -> None:
    """An observed group (``[bot] unknown_groups = "observe"``): only the routes that record
    run; no command is parsed, nothing is answered and no effect is queued."""
    for router in ctx.services.routers:
        for route in router.routes:
            if not route.observes or not isinstance(ctx.event, route.event_type):
                continue
            if all(f(ctx) for f in route.filters):
                await route.handler(ctx)


async def discover(ctx: Context) -> None:
    """A group the bot does not serve was created (WeCom ``change_external_chat`` ``create``):
    only the routes that look for groups to adopt run (they record, never answer)."""
    ev = ctx.event
    if not isinstance(ev, GroupChanged) or ev.change_type != "create":
        return
    for router in ctx.services.routers:
        for route in router.routes:
            if not route.discovers or not isinstance(ev, route.event_type):
                continue
            if all(f(ctx) for f in route.filters):
                await route.handler(ctx)


def build_registry(routers: list[Router]) -> Registry:
    """All commands of all routers; a word registered twice is a programming error."""
    reg = Registry()
    for r in routers:
        for spec in r.commands:
            reg.add(spec)
    return reg
