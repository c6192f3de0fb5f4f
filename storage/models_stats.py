"""Group statistics: daily counters, who was active on a day, who answered a programme post.

Exactly-once rules (the dispatcher runs each inbox event once, in the same transaction as these
writes; a re-run after a rollback starts from the rolled-back state):
- ``stats_daily`` has one row per (group, local day); counters are upserted (+1 per event);
- ``stats_activity`` has one row per (group, local day, member): a member is active at most
  once a day however much they talk, so counting rows counts distinct active members;
- ``stats_post_engagement`` has one row per (programme occurrence, member).
Figures that other tables already hold (check-ins, invites, programme posts, dead letters) are
not copied here; they are computed by query.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String
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


class StatsActivity(Base):
    """A member who spoke in a group on a local day, with how many messages."""

    __tablename__ = "stats_activity"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    messages: Mapped[int] = mapped_column(default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatsPostEngagement(Base):
    """A member who spoke within the engagement window after a programme post."""

    __tablename__ = "stats_post_engagement"
    occurrence_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(128))
