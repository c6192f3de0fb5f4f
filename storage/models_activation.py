"""红包激活 (activation): the daily plan of groups that need livening up, and its actions.

Exactly-once rules:
- a plan row is one rule choosing one group on one day: ``(rule, group_id, day)`` is unique,
  so a re-run of the evaluation, a second instance or a restart adds nothing;
- an action is one step of that plan (a reminder to the owner, a lottery, a themed post):
  ``(plan_id, idx)`` is its primary key, written with the plan in one transaction; it is
  carried out by claiming it ``planned → done`` in one conditional UPDATE (an operator's
  ``planned → skipped`` races it the same way), and its message is the outbox row keyed
  ``act:{plan}:{idx}`` (a lottery or post: the programme occurrence of that key).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models import BigId
from storage.types import UTCDateTime


class ActivationPlan(Base):
    """A rule chose a group on a (local) day; ``reason`` says why, ``figures`` the numbers."""

    __tablename__ = "activation_plans"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str] = mapped_column(String(128))
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(256), default="")
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("rule", "group_id", "day"),
        Index("ix_activation_plans_day", "day"),
    )


class ActivationAction(Base):
    """One action of a plan. Status: ``planned`` → ``done`` | ``skipped`` (by an operator,
    ``skipped_by``) | ``missed`` (its time passed by more than the grace while no instance
    ran). ``channel``: where it went (``private``, ``wecom_app``, ``alert``, ``group``)."""

    __tablename__ = "activation_actions"
    plan_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idx: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # remind_owner | lottery | post
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="planned")
    channel: Mapped[str] = mapped_column(String(16), default="")
    skipped_by: Mapped[str] = mapped_column(String(128), default="")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_activation_actions_due", "status", "at"),
        Index("ix_activation_actions_at", "at"),
    )
