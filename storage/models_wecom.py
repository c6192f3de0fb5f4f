"""WeCom tables: member-sync requests, personal join codes, welcome templates.

Exactly-once rules:
- a sync request has a unique ``key`` (``evt:{event}`` for a change_external_chat event,
  ``reconcile:{day}:{group}`` for the nightly pass), so redelivered events and several instances
  ask for one sync; what a sync finds is emitted as events whose dedup keys name the member and
  the join time, so running a sync twice changes nothing;
- a member has at most one join code per group (primary key), created through WeCom once;
- a welcome template row per scope (``default`` or a group id) keeps WeCom's template id, so an
  edited text edits the same template instead of adding another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models import BigId
from storage.types import UTCDateTime


class WeComSyncRequest(Base):
    """Re-read one customer group (``groupchat/get``) once ``due_at`` has come.

    Status: queued → done | failed. ``member_ids``/``event_at``/``quit_scene`` come from the
    triggering event: leavers it names are credited to the event's time, not the sync's."""

    __tablename__ = "wecom_sync_requests"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    group_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(32))  # add_member | del_member | reconcile | …
    member_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    quit_scene: Mapped[str] = mapped_column(String(8), default="")
    event_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_wecom_sync_due", "status", "due_at"),)


class WeComJoinWay(Base):
    """A member's personal 加入群聊 join code (``externalcontact/groupchat/add_join_way``) whose
    ``state`` is their referral code. Status: pending → ready | failed."""

    __tablename__ = "wecom_join_ways"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    config_id: Mapped[str] = mapped_column(String(64), default="")
    qr_code: Mapped[str] = mapped_column(Text, default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WeComWelcomeTemplate(Base):
    """WeCom's 入群欢迎语 template for a scope, and the hash of the text it holds."""

    __tablename__ = "wecom_welcome_templates"
    scope: Mapped[str] = mapped_column(String(128), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(128))
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
