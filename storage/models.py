"""Core tables: groups, members, the inbox, the outbox, settings, group tags, adopted groups
and the audit log.

Feature tables live in their own ``storage/models_<feature>.py`` modules; all of them are
imported by ``storage/__init__`` so Alembic and ``create_all`` see every table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import UTCDateTime

# Integer primary keys: BigInteger on PostgreSQL, INTEGER (rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Group(Base):
    """A group the bot sits in (from config, or first met on the wire). ``created_at``: when
    the bot first saw it — where its statistics begin (``ix_groups_seen`` lets the overview's
    totals read it for every group without reading the table)."""

    __tablename__ = "groups"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(256), default="")
    member_version: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_groups_seen", "id", "created_at"),)


class Member(Base):
    """A person as seen in one group. ``in_group`` flips on join/leave; rows are never deleted,
    so "has ever been in this group" is always answerable (rejoins are not new invites)."""

    __tablename__ = "members"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), default="")
    in_group: Mapped[bool] = mapped_column(default=True)
    role: Mapped[str] = mapped_column(String(16), default="")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_active_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    join_count: Mapped[int] = mapped_column(default=0)
    messages: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_members_group_in", "group_id", "in_group"),)


class InboxEvent(Base):
    """An accepted event. ``dedup_key`` is unique: a redelivery finds it and has no effect.
    Status: queued → done | failed (after retries); retried rows wait for ``next_attempt_at``."""

    __tablename__ = "inbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_inbox_due", "status", "next_attempt_at"),
        Index("ix_inbox_aged", "status", "received_at"),  # retention: finished rows by age
    )


class OutboxMessage(Base):
    """Something to send or do on a platform, written in the same transaction as the state
    change that caused it. ``idem_key`` (unique) stops a retried producer from queueing twice.
    Status: queued → sent | dead (permanent error or retries exhausted)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idem_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    group_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))  # console | onebot | wecom_robot | aibot
    target: Mapped[str] = mapped_column(String(256))  # pacing key: robot key, bridge, url
    action: Mapped[str] = mapped_column(String(32))  # text | markdown | private_text | kick …
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_aged", "status", "created_at"),  # retention: finished rows by age
    )


class GroupSetting(Base):
    """A per-group setting changed from chat (e.g. the rules text), overriding config."""

    __tablename__ = "group_settings"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupTag(Base):
    """A tag given to a group from the console or the API, on top of its configured
    ``[[groups]].tags`` (``bot.group_tags`` merges the two)."""

    __tablename__ = "group_tags"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)  # the order the tags were given in
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupAdoption(Base):
    """A group the bot manages although ``[[groups]]`` does not list it: it takes the settings
    of the configured group ``like`` (feature sections, admins, timezone, templates; never a
    robot key), WeCom's ``name`` and ``like``'s tags plus ``tags``. One row per group (the
    primary key makes an adoption happen once); ``source`` names who adopted it
    (``entry:<campaign>``). Every process applies the rows to its configuration
    (``bot/adoptions.py``)."""

    __tablename__ = "group_adoptions"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    like_group: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(64), default="")
    adopted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Who did what to whom, for every manual or automatic action worth explaining later."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    actor_id: Mapped[str] = mapped_column(String(128), default="")
    action: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(String(128), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    event_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # retention

    __table_args__ = (Index("ix_audit_log_group_target", "group_id", "target_id"),)  # 成员档案


class Lease(Base):
    """A named lease (e.g. the scheduler leader) held by one instance until ``expires_at``."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


__all__ = [
    "AuditEntry",
    "Base",
    "Group",
    "GroupSetting",
    "InboxEvent",
    "Lease",
    "Member",
    "OutboxMessage",
    "UniqueConstraint",
]
