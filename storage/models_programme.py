"""The programme ledger: one row per (slot, group, occurrence time), claimed before posting.

The unique constraint is what keeps restarts, catch-up, clock jumps and several instances from
posting an occurrence twice: whoever inserts the row first posts; everyone else does nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models import BigId
from storage.types import UTCDateTime


class ProgrammeOccurrence(Base):
    __tablename__ = "programme_occurrences"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slot_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # sent | skipped
    theme: Mapped[str] = mapped_column(String(256), default="")
    late: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("slot_id", "group_id", "at"),
        Index("ix_programme_group_at", "group_id", "at"),
    )
