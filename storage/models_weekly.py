"""The weekly summary (周报): one row per ISO week whose summary was posted.

The week (``2026-W48``) is the primary key, so a week's summary is claimed and posted once,
whatever the restarts, instances or clock steps; the posts themselves are outbox rows keyed
``weekly:{week}:{group}`` in the same transaction. The figures are not kept: a summary is
computed from the stored data whenever it is asked for.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import UTCDateTime


class WeeklyPost(Base):
    __tablename__ = "weekly_posts"
    week: Mapped[str] = mapped_column(String(8), primary_key=True)  # ISO week, 2026-W48
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the configured time it was for
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when it was queued
    targets: Mapped[list[str]] = mapped_column(JSON)  # the groups it was posted to
