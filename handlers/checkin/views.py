"""What other features read of check-ins: a member's totals and the boards as configured.

Rules: days follow the group's ``reset_hour`` and timezone; boards leave staff off when
``exclude_staff`` is on; a member's streak is the live one (it breaks after a missed day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, Context
from handlers.checkin import logic
from handlers.checkin.config import CheckinConfig
from handlers.checkin.logic import Totals
from handlers.checkin.ranking import staff_of
from handlers.checkin.repo import Checkins


@dataclass(frozen=True, slots=True)
class MemberCheckins:
    total: int
    streak: int
    best: int
    month: int  # days this month (the current season)
    points: int
    month_points: int
    cards: int
    last_day: date | None


def today(config: Config, group_id: str, now: datetime) -> date:
    """The group's check-in day at ``now``."""
    cfg = config.feature(CheckinConfig, group_id)
    return logic.local_day(now, config.timezone(group_id), cfg.reset_hour)


def _summary(st: Totals, days: set[date], day: date) -> MemberCheckins:
    season = day.strftime("%Y-%m")
    same = st.season == season
    return MemberCheckins(
        total=st.total_days,
        streak=logic.current_streak(days, day),
        best=st.best_streak,
        month=st.season_days if same else 0,
        points=st.points,
        month_points=st.season_points if same else 0,
        cards=st.cards,
        last_day=st.last_day,
    )


async def member_checkins(
    session: AsyncSession, config: Config, group_id: str, user_id: str, now: datetime
) -> MemberCheckins:
    """A member's committed check-in totals (zeros when none)."""
    checkins = Checkins(session)
    st = await checkins.totals(group_id, user_id)
    days = await checkins.days(group_id, user_id)
    return _summary(st, days, today(config, group_id, now))


async def my_checkins(ctx: Context, user_id: str) -> MemberCheckins:
    """A member's totals as the handler's batch sees them (its own writes included)."""
    assert ctx.group_id is not None
    checkins = ctx.repo(Checkins)
    st = await checkins.totals(ctx.group_id, user_id)
    days = await checkins.days(ctx.group_id, user_id)
    return _summary(st, days, today(ctx.config, ctx.group_id, ctx.now()))


def makeup_problem(
    ctx: Context, cfg: CheckinConfig, day: date | None, today: date, cards: int
) -> str:
    """Why ``/补签 day`` cannot be, or "": a day is named, lies in the look-back, a card is
    left, and the member was already here (the day they joined or were first seen, whichever
    is earlier)."""
    if day is None:
        return "请写明日期，例如 /补签 " + (today - timedelta(days=1)).isoformat()
    if not today - timedelta(days=cfg.makeup_days) <= day < today:
        return f"只能补最近 {cfg.makeup_days} 天内（不含今天）的签到"
    if cards <= 0:
        return "没有补签卡了"
    member = ctx.member
    if member is not None:
        since = min(t for t in (member.joined_at, member.first_seen_at) if t is not None)
        if day < ctx.local_day(cfg.reset_hour, at=since):
            return "那天你还没有入群，不能补签"
    return ""


def board_staff(config: Config, group_id: str) -> set[str]:
    """Who is left off rankings in this group (empty unless ``exclude_staff``): configured
    staff, the group's configured admins and the global admins."""
    cfg = config.feature(CheckinConfig, group_id)
    return staff_of(cfg, config.group_admins(group_id), config.bot.admins)


async def checkin_board(
    session: AsyncSession, config: Config, group_id: str, board: str, limit: int, now: datetime
) -> list[tuple[str, str, int]]:
    """(user_id, name, value) rows of ``today|streak|total|points|month``, staff left off."""
    return await Checkins(session).ranked(config, group_id, board, limit, now)
