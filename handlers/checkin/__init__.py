"""Daily check-ins (签到/打卡): once per local day, streaks, points, make-up cards, boards.

Other features use ``CheckinConfig``, the repository ``Checkins`` (``ctx.repo(Checkins)``:
``totals``, ``has_day``, ``days``, ``board`` …), ``has_checked_in``, ``checkins_on``,
``leaderboard``, ``member_checkins``/``my_checkins`` (a member's totals), ``checkin_board``,
``board_staff`` (who is left off rankings) and ``give_cards`` (make-up cards given by hand).
"""

from __future__ import annotations

from bot import Feature, templates
from handlers.checkin import boards, commands
from handlers.checkin.commands import give_cards
from handlers.checkin.config import CheckinConfig
from handlers.checkin.logic import Totals
from handlers.checkin.ranking import checkins_on, has_checked_in, leaderboard
from handlers.checkin.repo import Checkins
from handlers.checkin.views import (
    MemberCheckins,
    board_staff,
    checkin_board,
    member_checkins,
    my_checkins,
)

router = commands.router
router.routes += boards.router.routes
router.commands += boards.router.commands

FEATURE = Feature(
    name="checkin",
    router=router,
    config=CheckinConfig,
    templates=templates.owned_by(__name__),
    repositories=(Checkins,),
)

__all__ = [
    "FEATURE",
    "CheckinConfig",
    "Checkins",
    "MemberCheckins",
    "Totals",
    "board_staff",
    "checkin_board",
    "checkins_on",
    "give_cards",
    "has_checked_in",
    "leaderboard",
    "member_checkins",
    "my_checkins",
]
