"""活码 entry campaigns (``[[entry]]``): each group's join QR, visits and joins per day, the
WeCom 加入群聊 code backing a campaign, and the groups WeCom opened for it.

- ``entry_qr``: one row per (campaign, group) — the uploaded QR image (PNG/JPEG, bytes kept
  here so every instance serves the same) or a link; ``expires_at`` (a WeChat group QR lasts 7
  days) and ``warned_at`` (the admins were told it runs out: once per upload).
- ``entry_visits``: one row per (campaign, group, local day), counters upserted — a visit
  never adds a row of its own. ``last_at`` is the last time the page showed that group.
- ``entry_join_ways``: the campaign's ``add_join_way`` code; ``config_id`` is recorded as soon
  as WeCom answers, so a crash after it never makes a second code.
- ``entry_groups``: groups WeCom opened for a campaign (``auto_create_room``), found and
  adopted by the bot; a group belongs to one campaign.
- ``entry_candidates``: customer groups WeCom said were created (``change_external_chat``
  ``create``) for a chat the configuration does not list, one row per chat: ``pending`` until
  the ``entry.wecom`` job has asked WeCom whose it is, then ``adopted`` (``campaign_id``) or
  ``unrelated``; ``failed`` after repeated errors.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import UTCDateTime


class EntryQr(Base):
    __tablename__ = "entry_qr"
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # image | link
    image: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    mime: Mapped[str] = mapped_column(String(32), default="")
    link: Mapped[str] = mapped_column(String(1000), default="")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_entry_qr_expires", "expires_at"),)


class EntryVisit(Base):
    __tablename__ = "entry_visits"
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    visits: Mapped[int] = mapped_column(default=0)
    joins: Mapped[int] = mapped_column(default=0)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class EntryJoinWay(Base):
    """Status: ``pending`` (to create or update at WeCom) → ``ready`` | ``failed``."""

    __tablename__ = "entry_join_ways"
    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    config_id: Mapped[str] = mapped_column(String(64), default="")
    chat_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # as last sent to WeCom
    qr_code: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EntryGroup(Base):
    __tablename__ = "entry_groups"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_entry_groups_campaign", "campaign_id", "added_at"),)


class EntryCandidate(Base):
    __tablename__ = "entry_candidates"
    chat_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    campaign_id: Mapped[str] = mapped_column(String(64), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_entry_candidates_status", "status"),)
