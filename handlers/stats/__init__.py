"""Know your groups: daily statistics, operator reports, the stats API and the dashboard.

Counting happens in ``counting`` (same transaction as each event); everything else reads.
Other features may use ``daily_series``.
"""

from __future__ import annotations

from aiohttp import web

from handlers.stats import config as _config  # noqa: F401  (registers [stats])
from handlers.stats.api import setup_api
from handlers.stats.cli import register_cli
from handlers.stats.counting import router
from handlers.stats.daily import daily_series


def setup_web(app: web.Application) -> None:
    """``/api/groups/{gid}/stats``, ``/api/groups/{gid}/report`` and the ``/admin/`` pages."""
    from bot.web import dashboard

    setup_api(app)
    dashboard.setup(app)


__all__ = ["daily_series", "register_cli", "router", "setup_web"]
