"""Check-in tables: one row per member per local day, and a per-member summary row.

The unique constraint on (group, member, day) is what makes double taps, redeliveries and
parallel instances harmless: the second insert of the same day does nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models import BigId
from storage.types import UTCDateTime


class Checkin(Base):
    __tablename__ = "checkins"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    points: Mapped[int] = mapped_column(default=0)
    streak: Mapped[int] = mapped_column(default=1)
    content: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(Text, default="")
    makeup: Mapped[bool] = mapped_column(default=False)
    void: Mapped[bool] = mapped_column(default=False)
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)

    __table_args__ = (
        UniqueConstraint("group_id", "user_id", "day"),
        Index("ix_checkins_group_day", "group_id", "day"),
        # a date over all groups, answered from the index alone (the overview's totals)
        Index("ix_checkins_day", "day", "group_id", "user_id", "void", "makeup"),
    )


class CheckinStats(Base):
    """Running totals per member, updated in the same transaction as each check-in."""

    __tablename__ = "checkin_stats"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    total_days: Mapped[int] = mapped_column(default=0)
    streak: Mapped[int] = mapped_column(default=0)
    best_streak: Mapped[int] = mapped_column(default=0)
    last_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    points: Mapped[int] = mapped_column(default=0)
    season: Mapped[str] = mapped_column(String(7), default="")  # YYYY-MM
    season_days: Mapped[int] = mapped_column(default=0)
    season_points: Mapped[int] = mapped_column(default=0)
    cards: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        Index("ix_checkin_stats_total", "group_id", "total_days"),
        Index("ix_checkin_stats_points", "group_id", "points"),
    )


class CheckinDayCount(Base):
    """How many members checked in on a day: today's rank without counting rows."""

    __tablename__ = "checkin_day_counts"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
