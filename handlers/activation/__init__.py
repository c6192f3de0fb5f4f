"""红包激活 (activation): rules that choose the groups needing livening up — too few
messages or active members over the last days, or the day before a campaign — and plan for
each, on the day: a reminder to the group owner to send a red packet of a suggested amount at
a given time (the bot cannot send red packets itself), a lottery or a themed post (one-off
programme occurrences). ``GET /api/activation`` and the 红包激活 console page show the week's
plan and, once the hour after each action has ended, its effect against the same hour a week
before; operators may skip a planned action.

Reads ``stats`` (activity by day and by hour), ``programme`` (``post_once``) and ``groupmsg``
(a WeCom group's owner). See docs/activation.md.
"""

from __future__ import annotations

from aiohttp import web

from bot import Feature, Job, Page, templates
from handlers.activation import act, plan
from handlers.activation.api import setup_api
from handlers.activation.config import ActivationConfig, check_targets
from handlers.activation.page import PATH, activation_page, skip_post

router = plan.router
router.routes += act.router.routes


def _web(app: web.Application) -> None:
    setup_api(app)
    app.router.add_post(PATH + "/skip", skip_post)


FEATURE = Feature(
    name="activation",
    router=router,
    config=ActivationConfig,
    templates=templates.owned_by(__name__),
    web=_web,
    jobs=(Job("activation.tick", plan.tick, plan.TICK_S, at_start=True),),
    checks=(check_targets,),
    pages=(Page(PATH, activation_page, nav="红包激活"),),
)

__all__ = ["FEATURE", "ActivationConfig"]
