"""Broadcasts (群发): one row per broadcast, one row per (broadcast, group) it goes to.

The pair (broadcast, group) is the primary key, so a group is in a broadcast once; the
message itself is the outbox row keyed ``bc:{broadcast}:{group}``, so however often the
fan-out runs, a group is queued once. ``idem_key`` (the POST's ``Idempotency-Key``) is unique:
a retried request finds the broadcast it made. Delivery state is not kept here — it is read
from the outbox rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text, false
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models import BigId
from storage.types import UTCDateTime


class Broadcast(Base):
    """What to send where, and when. Status: ``scheduled`` (not every group queued yet) →
    ``queued`` (every group queued or failed) | ``cancelled``."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idem_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    request_hash: Mapped[str] = mapped_column(String(64), default="")
    targets: Mapped[list[str]] = mapped_column(JSON)
    action: Mapped[str] = mapped_column(String(16))  # text | markdown | image (no text)
    text: Mapped[str] = mapped_column(Text)  # "" when only an image goes
    # an https URL sent after the text as an image (bc:{id}:{group}:img); never fetched by us
    image: Mapped[str] = mapped_column(String(1000), default="", server_default=sql_text("''"))
    # official: to WeCom customer groups without a robot as 企业群发 (else staff reminders)
    official: Mapped[bool] = mapped_column(default=False, server_default=false())
    at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # None: now
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_broadcasts_status_at", "status", "at"),)


class BroadcastGroup(Base):
    """One group of a broadcast. State: ``scheduled`` (not queued yet) → ``queued`` (its
    outbox rows say the rest) | ``failed`` (never queued: ``reason``) | ``cancelled``."""

    __tablename__ = "broadcast_groups"
    broadcast_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="scheduled")
    reason: Mapped[str] = mapped_column(String(256), default="")
    parts: Mapped[int] = mapped_column(default=0)  # outbox rows queued for it
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_broadcast_groups_state", "broadcast_id", "state"),)
