"""Know your groups: daily statistics, operator reports, the stats and member APIs and the
dashboard's overview, group and leaderboard pages.

Counting happens in ``counting`` (same transaction as each event); everything else reads —
check-ins, invites and warnings through those features' packages — except the ``totals`` job,
which keeps the overview's per-date sums over all groups. Other features may use
``daily_series``, ``known_group_ids`` (every group the bot knows, in listing order),
``utc_bounds`` (a span of local days in UTC), ``hour_of``/``hour_figures`` (messages and
active members of a local clock hour) and ``recent_activity`` (over the last whole days).
"""

from __future__ import annotations

from aiohttp import web

from bot import Feature, Job, Page, templates
from handlers.stats import page_boards, page_group, page_overview
from handlers.stats.api import setup_api
from handlers.stats.cli import register_cli
from handlers.stats.config import StatsConfig
from handlers.stats.counting import hour_of, router
from handlers.stats.daily import daily_series, utc_bounds
from handlers.stats.hours import (
    PRUNE_EVERY_S,
    HourFigures,
    RecentActivity,
    hour_figures,
    prune_hourly,
    recent_activity,
)
from handlers.stats.members_api import setup_members_api
from handlers.stats.repo import Counters
from handlers.stats.reports import known_group_ids
from handlers.stats.totals import EVERY_S, keep_totals


def setup_web(app: web.Application) -> None:
    """``/api/groups/{gid}/stats``, ``…/report``, ``…/members/{uid}`` and ``…/leaderboard``."""
    setup_api(app)
    setup_members_api(app)


FEATURE = Feature(
    name="stats",
    router=router,
    config=StatsConfig,
    templates=templates.owned_by(__name__),
    web=setup_web,
    cli=register_cli,
    repositories=(Counters,),
    jobs=(
        Job("stats-totals", keep_totals, EVERY_S),
        Job("stats-hourly-prune", prune_hourly, PRUNE_EVERY_S),
    ),
    pages=(
        Page("/admin/", page_overview.overview),
        Page("/admin/groups/{gid}", page_group.group_page, tab="数据"),
        Page("/admin/groups/{gid}/stats.csv", page_group.group_csv),
        Page("/admin/groups/{gid}/leaderboards", page_boards.leaderboards_page, tab="排行榜"),
    ),
)

__all__ = [
    "FEATURE",
    "HourFigures",
    "RecentActivity",
    "StatsConfig",
    "daily_series",
    "hour_figures",
    "hour_of",
    "known_group_ids",
    "recent_activity",
    "utc_bounds",
]
