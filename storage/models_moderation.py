"""Moderation and welcome tables: warnings, the moderation log, the allow-list, greetings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models import BigId
from storage.types import UTCDateTime


class Warning_(Base):
    """A warning; it counts until ``expires_at`` unless revoked."""

    __tablename__ = "warnings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    rule: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (Index("ix_warnings_member", "group_id", "user_id", "expires_at"),)


class ModerationLog(Base):
    """Every automatic or manual moderation action (or, in shadow mode, what would have been)."""

    __tablename__ = "moderation_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(String(128), index=True)
    user_id: Mapped[str] = mapped_column(String(128))
    rule: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    shadow: Mapped[bool] = mapped_column(default=False)
    actor_id: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AllowListEntry(Base):
    __tablename__ = "moderation_allowlist"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(128), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PendingGreeting(Base):
    """A newcomer waiting for the burst window to close before being greeted."""

    __tablename__ = "welcome_pending"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256), default="")
    inviter_id: Mapped[str] = mapped_column(String(128), default="")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done: Mapped[bool] = mapped_column(default=False)
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True, unique=True)

    __table_args__ = (Index("ix_welcome_pending_open", "done", "group_id"),)


class Greeted(Base):
    """When a member was last greeted in a group (at most once per 24 h)."""

    __tablename__ = "welcome_greeted"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    greeted_at: Mapped[datetime] = mapped_column(UTCDateTime())
