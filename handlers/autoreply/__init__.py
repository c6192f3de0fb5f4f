"""Keyword auto-replies (关键词回复), the FAQ and the optional AI answer.

Members' routine questions ("优惠券在哪领？") are answered from keyword rules and an FAQ
(``[autoreply]``, or ``/加回复`` from chat), once per cooldown per group; an unanswered
@-question may be answered by an OpenAI-compatible model, asked by a background worker so
that no event ever waits for it. See ``answer`` (matching and replying), ``requests`` and
``worker`` (the AI answer), ``commands`` (chat), ``console`` (the 自动回复 tab: hits per rule
and day, and keyword replies edited by staff; ``editing`` holds the checks both share) and
``api`` (hits per rule and day).

Other features use ``rule_hits`` (answers per rule and day of a group).
"""

from __future__ import annotations

from aiohttp import web

from bot import Feature, Page, templates
from handlers.autoreply import answer, commands, prune, requests
from handlers.autoreply.api import setup_web
from handlers.autoreply.chatrules import ChatRules
from handlers.autoreply.config import AutoreplyConfig, budget_check
from handlers.autoreply.console import PATH, autoreply_page, autoreply_post
from handlers.autoreply.repo import hits as rule_hits
from handlers.autoreply.worker import on_shutdown, on_startup, run_pending

router = commands.router
for part in (answer, requests, prune):
    router.routes += part.router.routes


def _web(app: web.Application) -> None:
    setup_web(app)
    app.router.add_post(PATH, autoreply_post)


FEATURE = Feature(
    name="autoreply",
    router=router,
    config=AutoreplyConfig,
    templates=templates.owned_by(__name__),
    startup=on_startup,
    shutdown=on_shutdown,
    checks=(budget_check,),
    jobs=(prune.JOB,),
    web=_web,
    pages=(Page(PATH, autoreply_page, tab="自动回复"),),
    repositories=(ChatRules,),
)

__all__ = ["FEATURE", "AutoreplyConfig", "rule_hits", "run_pending"]
