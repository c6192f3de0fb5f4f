"""Group statistics: daily counters, who was active on a day, who answered a programme post.

Exactly-once rules (the dispatcher runs each inbox event once, in the same transaction as these
writes; a re-run after a rollback starts from the rolled-back state):
- ``stats_daily`` has one row per (group, local day); counters are upserted (+1 per event);
- ``stats_activity`` has one row per (group, local day, member): a member is active at most
  once a day however much they talk, so counting rows counts distinct active members;
- ``stats_post_engagement`` has one row per (programme occurrence, member).
Figures that other tables already hold (check-ins, invites, programme posts, dead letters) are
not copied here; they are computed by query. ``stats_totals`` is derived: every group's figures
added up per date, recomputed to the same values any number of times (handlers/stats/totals.py).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models import BigId
from storage.types import UTCDateTime


class StatsDaily(Base):
    """Counters of one group on one local day. ``members`` is the member count after the last
    change of membership that day (NULL: no change that day — the previous value holds)."""

    __tablename__ = "stats_daily"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    joins: Mapped[int] = mapped_column(default=0)
    leaves: Mapped[int] = mapped_column(default=0)
    messages: Mapped[int] = mapped_column(default=0)
    members: Mapped[int | None] = mapped_column(nullable=True)

    __table_args__ = (
        Index("ix_stats_daily_day", "day"),  # a date over all groups (the overview's totals)
        # each group's member counts by date: the latest one on or before a date is one seek
        Index(
            "ix_stats_daily_counts",
            "group_id",
            "day",
            "members",
            sqlite_where=text("members IS NOT NULL"),
            postgresql_where=text("members IS NOT NULL"),
        ),
        # the days someone spoke: whether a group was active lately is one seek
        Index(
            "ix_stats_daily_spoke",
            "group_id",
            "day",
            sqlite_where=text("messages > 0"),
            postgresql_where=text("messages > 0"),
        ),
    )


class StatsActivity(Base):
    """A member who spoke in a group on a local day, with how many messages."""

    __tablename__ = "stats_activity"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    messages: Mapped[int] = mapped_column(default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # a date over all groups, answered from the index alone (the overview's totals)
    __table_args__ = (Index("ix_stats_activity_day", "day", "group_id", "user_id"),)


class StatsPostEngagement(Base):
    """A member who spoke within the engagement window after a programme post."""

    __tablename__ = "stats_post_engagement"
    occurrence_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(128))


class StatsTotals(Base):
    """Every group's figures of one date added up (each group on its own local date), kept
    for the dates that have ended everywhere; the overview's cards and trends read them."""

    __tablename__ = "stats_totals"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    members: Mapped[int] = mapped_column(default=0)
    joins: Mapped[int] = mapped_column(default=0)
    leaves: Mapped[int] = mapped_column(default=0)
    messages: Mapped[int] = mapped_column(default=0)
    active_members: Mapped[int] = mapped_column(default=0)
    checkins: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatsHourly(Base):
    """A member who spoke in a group in one hour, with how many messages: the hour is the
    group's local clock hour (``hour`` is its start, stored in UTC). Counting rows counts
    distinct active members of the hour; summing ``messages`` counts its messages. Kept
    ``[stats] hourly_days`` days (the ``stats-hourly-prune`` job)."""

    __tablename__ = "stats_hourly"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    messages: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_stats_hourly_hour", "hour"),)  # the prune's range
