"""Invite ledger, adjustments, reward claims, the reward-code pool and referral join codes.

Unique constraints carry the rules: one ledger row per (group, invitee) — a rejoin can never be
a second invite; one credit slot per (group, inviter, local day, n) — the daily cap holds across
instances; one claim per (group, member, tier) — a reward can never be claimed twice; a code
belongs to at most one claim; a referral code names one member.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models import BigId
from storage.types import UTCDateTime


class Invite(Base):
    """Status: pending → valid | left | void; valid → deducted (left soon after) | void;
    ``fake`` (a rejoin) and ``capped`` (over the daily cap / in the cooldown) never count.

    A credited invite (pending at join) takes slot ``credit_seq`` of its inviter's local day
    ``credit_day``; the unique slot makes the daily cap a database guarantee (two instances
    crediting the same inviter at once: one fails and is retried, then sees the cap)."""

    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(String(128))
    invitee_id: Mapped[str] = mapped_column(String(128))
    inviter_id: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    qualified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    credit_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    credit_seq: Mapped[int | None] = mapped_column(nullable=True)

    __table_args__ = (
        UniqueConstraint("group_id", "invitee_id"),
        UniqueConstraint("group_id", "inviter_id", "credit_day", "credit_seq"),
        Index("ix_invites_inviter", "group_id", "inviter_id", "status"),
        Index("ix_invites_pending", "status", "joined_at"),
    )


class InviteAdjustment(Base):
    """A manual correction by an admin (+/- valid invites), undoable."""

    __tablename__ = "invite_adjustments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    delta: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[str] = mapped_column(String(128), default="")
    undone: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_invite_adj_user", "group_id", "user_id"),)


class RewardClaim(Base):
    """A reached tier claimed by a member; ``code`` stays empty while the pool is empty."""

    __tablename__ = "reward_claims"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    tier: Mapped[int] = mapped_column()
    reward: Mapped[str] = mapped_column(String(256), default="")
    code: Mapped[str] = mapped_column(String(256), default="")
    status: Mapped[str] = mapped_column(String(16))  # fulfilled | pending
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (UniqueConstraint("group_id", "user_id", "tier"),)


class RewardCode(Base):
    """A code in a pool for a tier; taken by exactly one claim of a group drawing from that
    pool (``""`` is the shared pool, see handlers/referral/pools.py)."""

    __tablename__ = "reward_codes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pool: Mapped[str] = mapped_column(String(128), default="")
    tier: Mapped[int] = mapped_column()
    code: Mapped[str] = mapped_column(String(256), unique=True)
    claim_id: Mapped[int | None] = mapped_column(BigId, nullable=True, unique=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_reward_codes_free", "pool", "tier", "claim_id"),)


class ReferralCode(Base):
    """A member's personal referral code (WeCom join-way ``state``, ≤ 30 characters)."""

    __tablename__ = "referral_codes"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
