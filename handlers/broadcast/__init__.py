"""Broadcasts (群发) by target with delivery reports: ``POST /api/broadcasts`` to every group,
a tag's groups or named groups, now or at a time; a report of each group's delivery state
read from the outbox; cancelling what has not gone; and the dashboard's 群发 pages."""

from __future__ import annotations

from aiohttp import web

from bot import Feature, Job, Page
from handlers.broadcast.api import setup_web
from handlers.broadcast.fanout import EVERY_S, SCHEDULER_ID, queue_due, router
from handlers.broadcast.page import PATH, broadcasts_page, compose_post
from handlers.broadcast.page_report import cancel_post, report_page


def _web(app: web.Application) -> None:
    """The JSON routes, and the POST targets of the pages' forms."""
    setup_web(app)
    app.router.add_post(PATH, compose_post)
    app.router.add_post(PATH + "/{bid}/cancel", cancel_post)


FEATURE = Feature(
    name="broadcast",
    router=router,
    web=_web,
    pages=(Page(PATH, broadcasts_page, nav="群发"), Page(PATH + "/{bid}", report_page)),
    jobs=(Job(SCHEDULER_ID, queue_due, EVERY_S, at_start=True),),
)

__all__ = ["FEATURE"]
