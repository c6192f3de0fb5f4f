"""Moderation and welcome tables: warnings, the moderation log, the allow-list, greetings.

Exactly-once rules (each effect has a database uniqueness guard, never a read-then-write):
- a warning has a unique ``key`` (``evt:{event}:{target}``): one event warns a member once;
- a log row has a unique ``key`` (``evt:{event}:{rule}:{action}:{target}``); a removal is keyed
  ``kick:{group}:{user}:{join_count}``, so a member is removed at most once per stay;
- a pending greeting is unique per join event; ``welcome_greeted`` (one row per member) holds
  the last greeting, checked and moved inside the flush transaction;
- ``welcome_notices`` (group, key) makes "tell the admins once a day" hold across flushes.
"""

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
    key: Mapped[str] = mapped_column(String(200), unique=True)
    group_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    rule: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(default=False)
    revoked_by: Mapped[str] = mapped_column(String(128), default="")

    __table_args__ = (Index("ix_warnings_member", "group_id", "user_id", "expires_at"),)


class ModerationLog(Base):
    """Every automatic or manual moderation action (or, in shadow mode, what would have been).

    ``rule``: banned | ads | flood | manual | allowlist; ``action``: delete, warn, kick, report,
    delete_unsupported, kick_unsupported, revoke, undo, add, remove. ``warning_id`` links a
    warn row to its warning so ``/撤销 <id>`` can revoke it; ``undone_at`` marks undone rows.
    """

    __tablename__ = "moderation_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    group_id: Mapped[str] = mapped_column(String(128), index=True)
    user_id: Mapped[str] = mapped_column(String(128))
    rule: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    shadow: Mapped[bool] = mapped_column(default=False)
    actor_id: Mapped[str] = mapped_column(String(128), default="")
    warning_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AllowListEntry(Base):
    """Members the rules never check in a group (``/白名单 添加 @x``)."""

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
    platform: Mapped[str] = mapped_column(String(16), default="")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done: Mapped[bool] = mapped_column(default=False)
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True, unique=True)

    __table_args__ = (Index("ix_welcome_pending_open", "done", "group_id"),)


class Greeted(Base):
    """When a member was last greeted in a group (at most once per ``once_per_hours``)."""

    __tablename__ = "welcome_greeted"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    greeted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WelcomeNotice(Base):
    """An admin notice already given (e.g. ``near:2026-11-18``): once per key and group."""

    __tablename__ = "welcome_notices"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
