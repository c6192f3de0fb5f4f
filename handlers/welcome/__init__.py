"""Welcoming newcomers (欢迎新人): settled bursts of joins get one greeting, raids a summary,
capacity hints for admins, an optional goodbye (see ``events`` and ``greet``).

Other features use ``WelcomeConfig`` (the ``[welcome]`` section)."""

from __future__ import annotations

from bot import Feature, Job, templates
from handlers.welcome.config import WelcomeConfig
from handlers.welcome.events import FLUSH_EVERY_S, flush_due, router

FEATURE = Feature(
    name="welcome",
    router=router,
    config=WelcomeConfig,
    templates=templates.owned_by(__name__),
    jobs=(Job("welcome-flush", flush_due, FLUSH_EVERY_S),),
)

__all__ = ["FEATURE", "WelcomeConfig", "flush_due"]
