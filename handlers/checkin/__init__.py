"""Daily check-ins (签到/打卡): once per local day, streaks, points, make-up cards, boards.

Other features use ``has_checked_in``, ``checkins_on`` and ``leaderboard``.
"""

from __future__ import annotations

from handlers.checkin import boards, commands
from handlers.checkin.api import setup_web
from handlers.checkin.repo import checkins_on, has_checked_in, leaderboard

router = commands.router
router.routes += boards.router.routes
router.commands += boards.router.commands

__all__ = ["checkins_on", "has_checked_in", "leaderboard", "router", "setup_web"]
