"""Broadcasts (群发) by target with delivery reports: ``POST /api/broadcasts`` to every group,
a tag's groups or named groups, now or at a time; a report of each group's delivery state
read from the outbox; cancelling what has not gone; and the dashboard's 群发 page."""

from __future__ import annotations

from bot import Feature, Job
from handlers.broadcast.api import setup_web
from handlers.broadcast.fanout import EVERY_S, SCHEDULER_ID, queue_due, router

FEATURE = Feature(
    name="broadcast",
    router=router,
    web=setup_web,
    jobs=(Job(SCHEDULER_ID, queue_due, EVERY_S, at_start=True),),
)

__all__ = ["FEATURE"]
