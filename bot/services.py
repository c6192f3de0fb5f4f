"""The long-lived things a handler may reach through its Context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.commands import Registry
from bot.config import Config
from bot.events import Event
from bot.state import State
from storage.db import Database

if TYPE_CHECKING:
    from bot.dispatch.router import Route, Router
    from bot.repository import Repository


@dataclass
class Services:
    config: Config
    clock: Clock
    db: Database
    routers: list[Router]
    registry: Registry
    # what the core and the features keep in memory between events, under typed keys
    state: State = field(default_factory=State)
    # the features' repositories that read in bulk before a dispatcher batch (their preload)
    preloaders: list[type[Repository]] = field(default_factory=list)
    # the routes an event of a type (and command) can reach, in order (bot/dispatch/routing.py)
    route_index: dict[tuple[type, object, int], list[Route]] = field(
        default_factory=dict, repr=False
    )

    def self_ids(self, event: Event) -> set[str]:
        """The bot's own account ids: from config and from what the platform told us."""
        ids = {self.config.onebot.self_id} if self.config.onebot.self_id else set()
        sid = getattr(event, "self_id", "")
        if sid:
            ids.add(sid)
        return ids

    @property
    def bot_names(self) -> tuple[str, ...]:
        return (self.config.bot.name,)
