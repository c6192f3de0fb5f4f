"""Auto-reply tables: rules added from chat, cooldowns, answers given, AI requests and budget.

Exactly-once rules (each effect has a database uniqueness guard, never a read-then-write):
- ``autoreply_answers`` has a unique ``key`` per answered event (``evt:{inbox id}``), whether
  a rule, an FAQ entry or the model answered: one message gets at most one answer, however
  often the event is run or redelivered. Its rows are also the hits per rule and day;
- ``autoreply_cooldowns`` holds one row per (group, rule) with the time of the last answer; it
  is moved forward only by a conditional upsert that succeeds once the window has passed;
- ``autoreply_ai_requests`` has a unique ``key`` per event (``ai:{inbox id}``); a worker claims
  a row by a conditional UPDATE (pending → asking) and the answer goes out as an inbox event
  keyed by the request, so one question is answered at most once;
- ``autoreply_ai_usage`` has one row per day whose ``calls`` only grow by a conditional
  UPDATE below the budget.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models import BigId
from storage.types import UTCDateTime


class AutoreplyRule(Base):
    """A keyword rule a group's admins added with ``/加回复`` (``key``: the normalised
    keywords with the match kind; adding the same keywords again replaces the reply)."""

    __tablename__ = "autoreply_rules"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(400))
    match: Mapped[str] = mapped_column(String(16))
    keywords: Mapped[list[str]] = mapped_column(JSON)
    reply: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("group_id", "key", name="uq_autoreply_rules_group_key"),)


class AutoreplyCooldown(Base):
    """When a rule last answered in a group."""

    __tablename__ = "autoreply_cooldowns"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AutoreplyAnswer(Base):
    """One answer given: by a rule, an FAQ entry (``faq:…``) or the model (``ai``)."""

    __tablename__ = "autoreply_answers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    group_id: Mapped[str] = mapped_column(String(128))
    rule_id: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(8))  # rule | faq | chat | ai
    user_id: Mapped[str] = mapped_column(String(128), default="")
    day: Mapped[date] = mapped_column(Date)  # the group's local day
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_autoreply_answers_group_day", "group_id", "day"),)


class AutoreplyAiRequest(Base):
    """A question waiting for (or given) a model answer.

    ``status``: pending → asking (claimed; ``lease_until`` bounds a crashed worker's claim) →
    answered | failed (timeout, refusal: ``reason``) | budget (the day's budget was spent) |
    stale (waited too long to be worth answering)."""

    __tablename__ = "autoreply_ai_requests"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    event_id: Mapped[int] = mapped_column(BigId)
    group_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    platform: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(128), default="")
    reply_url: Mapped[str] = mapped_column(Text, default="")
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_autoreply_ai_requests_status", "status", "id"),)


class AutoreplyAiUsage(Base):
    """Model calls made on one day (bot timezone), all groups together."""

    __tablename__ = "autoreply_ai_usage"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int] = mapped_column(default=0)
