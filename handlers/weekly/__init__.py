"""The weekly summary (周报): last week's figures against the week before — in total, per tag,
the best and weakest groups — posted once a week at a configured time to an admin group
and/or the alert group, and downloadable for any past week (``GET /api/reports/weekly``, the
console's 周报 page, CSV and XLSX).

Reads the group matrix through ``handlers.matrix`` (its ``build`` over a past Monday to
Sunday). Posting: the ``weekly.tick`` job and the ``weekly.post`` event
(``handlers/weekly/posting.py``), one ``weekly_posts`` row per week.
"""

from __future__ import annotations

from aiohttp import web

from bot import Feature, Job, Page, templates
from handlers.weekly.api import download_page, setup_api
from handlers.weekly.config import WeeklyConfig, check
from handlers.weekly.page import weekly_page
from handlers.weekly.posting import TICK_S, router, tick
from handlers.weekly.repo import WeeklyPosts
from handlers.weekly.text import CONSOLE_PATH


def _web(app: web.Application) -> None:
    setup_api(app)


FEATURE = Feature(
    name="weekly",
    router=router,
    config=WeeklyConfig,
    templates=templates.owned_by(__name__),
    web=_web,
    pages=(
        Page(CONSOLE_PATH, weekly_page, nav="周报"),
        Page(CONSOLE_PATH + ".csv", download_page),
        Page(CONSOLE_PATH + ".xlsx", download_page),
    ),
    jobs=(Job("weekly.tick", tick, TICK_S, at_start=True),),
    checks=(check,),
    repositories=(WeeklyPosts,),
)

__all__ = ["FEATURE", "WeeklyConfig"]
