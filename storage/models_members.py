"""Member tags (种子用户, VIP, 已购 …): one row per (group, member, tag); the guided actions
(clean-up, promote): a run, one row per (run, member), and a per-day counter for the cap.

The primary key is the unique constraint: a member carries a tag once, however often it is
set — by an admin in chat, through the API or by an auto-tag rule (``source``). An auto-tag
rule only ever takes off rows it put on (``source = 'auto'``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models import BigId
from storage.types import UTCDateTime


class MemberTag(Base):
    """A tag on a member of a group."""

    __tablename__ = "member_tags"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual | api | auto
    added_by: Mapped[str] = mapped_column(String(128), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # a tag's members in a group (/标签列表 VIP, the actions' filters)
    __table_args__ = (Index("ix_member_tags_tag", "group_id", "tag"),)


class MemberAction(Base):
    """A confirmed guided action (``cleanup`` or ``promote``) in a group: the list shown in
    the dry run (``digest``) as confirmed by ``actor``. ``key`` (unique) is the digest with the
    chosen members: confirming the same thing twice finds this run. Status: ``running`` (items
    still pending) → ``done``."""

    __tablename__ = "member_actions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # cleanup | promote
    group_id: Mapped[str] = mapped_column(String(128))
    target_group: Mapped[str] = mapped_column(String(128), default="")  # promote
    digest: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default="running")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_member_actions_group", "group_id", "kind", "created_at"),
        Index("ix_member_actions_status", "status"),
    )


class MemberActionItem(Base):
    """One member of a run — once per (run, member), the primary key. State: ``pending`` →
    ``kicked`` | ``invited`` (the platform was asked) | ``listed`` (the platform cannot: the
    owner got a list) | ``skipped`` (``reason``: became staff, allow-listed, left); a promoted
    member becomes ``joined`` when they join ``target_group``."""

    __tablename__ = "member_action_items"
    action_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    target_group: Mapped[str] = mapped_column(String(128), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        # who was in a recent run of a kind (the dry run leaves them out)
        Index("ix_member_action_items_member", "group_id", "kind", "user_id", "created_at"),
        # a join in the target group finds the invitation
        Index("ix_member_action_items_target", "target_group", "user_id", "state"),
    )


class MemberActionDay(Base):
    """How many members a group's action of a kind took on a local day: the daily cap is a
    conditional UPDATE of ``used``, so two confirmations racing cannot pass it together."""

    __tablename__ = "member_action_days"
    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    used: Mapped[int] = mapped_column(default=0)
