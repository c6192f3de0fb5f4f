"""The one object a feature hands the core: everything the core needs to run it.

Rules:
- The core knows no feature by name. The composition root (``handlers/app.py``) passes the
  list of features, in order, to ``parse_config``; the bot, the web app and the CLI are built
  from the features the configuration was parsed with.
- Routers run in the order of the list (moderation before commands, see ``handlers``).
- A feature's config section is the table named after the feature (``[checkin]`` …), may be
  overridden per group inside ``[[groups]]`` and is read with ``ctx.feature(CheckinConfig)``.
- Templates a feature says are the only ones operators may override (unknown keys are errors).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

    from bot.config import Config
    from bot.dispatch.router import Router
    from bot.repository import Repository
    from bot.runtime import Bot
    from bot.sections import Section

Hook = Callable[["Bot"], Awaitable[None]]
ConfigLoader = Callable[[str], "Config"]
CliSetup = Callable[["argparse._SubParsersAction[Any]", ConfigLoader], None]
Check = Callable[["Config"], list[str]]


@dataclass(frozen=True, slots=True)
class Job:
    """A periodic job: ``run(bot)`` every ``every_s`` seconds while this instance leads.

    ``at_start`` also runs it once when the bot starts. The job should only submit an event
    (``bot.jobs.submit``): the handler then runs once per slot however many timers fire.
    """

    id: str
    run: Callable[[Bot], Awaitable[object]]  # (what it returns is not used)
    every_s: float
    at_start: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """A dashboard page under ``/admin/`` (same token as the API).

    ``nav`` puts a link in the top bar; ``tab`` puts a link on each group's tab row (to
    ``path`` with ``{gid}`` filled in, or to ``path?group=<gid>`` when it has none).
    """

    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    nav: str = ""
    tab: str = ""


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    router: Router | None = None
    config: type[Section] | None = None
    templates: tuple[str, ...] = ()
    startup: Hook | None = None
    shutdown: Hook | None = None
    web: Callable[[web.Application], None] | None = None
    pages: tuple[Page, ...] = ()
    cli: CliSetup | None = None
    jobs: tuple[Job, ...] = ()
    checks: tuple[Check, ...] = ()  # config checks that span sections or groups
    # what `check-config` prints as warnings (the config is usable; exit 0)
    warnings: tuple[Check, ...] = ()
    # the feature's repositories (bot/repository.py); those with a preload read in bulk
    # before every dispatcher batch
    repositories: tuple[type[Repository], ...] = ()
