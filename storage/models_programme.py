"""The programme ledger: one row per (slot, group, occurrence time), claimed before posting.

The unique constraint is what keeps restarts, catch-up, clock jumps and several instances from
posting an occurrence twice: whoever inserts the row first posts; everyone else does nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, UniqueConstraint
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
    status: Mapped[str] = mapped_column(String(16))  # sent | skipped | failed
    theme: Mapped[str] = mapped_column(String(256), default="")
    late: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(String(256), default="")  # why it failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("slot_id", "group_id", "at"),
        Index("ix_programme_group_at", "group_id", "at"),
    )


class ProgrammeCustomSlot(Base):
    """A slot an admin added from chat (``/加节目``); lives beside the config's slots."""

    __tablename__ = "programme_custom_slots"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    slot_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    days: Mapped[str] = mapped_column(String(64))
    time: Mapped[str] = mapped_column(String(8))
    theme: Mapped[str] = mapped_column(String(256), default="")
    content: Mapped[str] = mapped_column(String(4000), default="")
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProgrammePause(Base):
    """A slot paused in one group (``/暂停节目``) until resumed."""

    __tablename__ = "programme_pauses"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    slot_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused_by: Mapped[str] = mapped_column(String(128), default="")
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LotteryDraw(Base):
    """A lottery drawn for one occurrence: the published seed and candidates reproduce it."""

    __tablename__ = "lottery_draws"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurrence: Mapped[str] = mapped_column(String(256), unique=True)
    group_id: Mapped[str] = mapped_column(String(128))
    seed: Mapped[str] = mapped_column(String(64))
    candidates: Mapped[list[str]] = mapped_column(JSON)
    winners: Mapped[list[str]] = mapped_column(JSON)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime())
