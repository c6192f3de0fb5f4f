"""企业群发 to WeCom customer groups: what each group should get, the WeCom tasks made for it,
and the temporary media uploaded for attachments.

Exactly-once rules:
- an item is one group's share of one occurrence (a programme slot at a time, or a broadcast):
  ``key`` is unique (the occurrence's key, e.g. ``prog:{slot}:{group}:{at}``), so a group gets
  one item per occurrence however often its event runs;
- a task is one ``add_msg_template`` call for one owner and one occurrence: ``(source,
  owner)`` is unique and the row is claimed (``calling``) in its own commit before the call;
  the ``msgid`` WeCom answers is written in its own commit right after. WeCom has no
  idempotency key: a row left ``calling`` (a crash between call and record) or ``unknown``
  (no readable answer) is only called again once ``get_groupmsg_list_v2`` shows no task by
  that owner with that text since the claim (see handlers/groupmsg/tasks.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models import BigId
from storage.types import UTCDateTime


class GroupMsgItem(Base):
    """One customer group's share of an occurrence. ``channel``: ``groupmsg`` (a task for the
    owner) or ``reminder`` (an app message to the owner, outbox key ``rm:{key}``).

    State (groupmsg): ``pending`` (gathering) → ``tasked`` → ``waiting_owner`` → ``sent`` |
    ``not_sent`` | ``failed`` | ``already_received`` (the group got another 群发 first) |
    ``cancelled``. A reminder item stays ``reminder``: its outbox row says the rest."""

    __tablename__ = "groupmsg_items"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    source: Mapped[str] = mapped_column(String(256))  # prog:{slot}:{at} | bc:{id}
    group_id: Mapped[str] = mapped_column(String(128))
    owner: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(256), default="")
    task_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_groupmsg_items_state_due", "state", "due_at"),
        Index("ix_groupmsg_items_group_due", "group_id", "due_at"),
        Index("ix_groupmsg_items_source", "source"),
        Index("ix_groupmsg_items_task", "task_id"),
    )


class GroupMsgTask(Base):
    """One ``add_msg_template`` task: one owner's groups of one occurrence.

    State: ``ready`` (may be called) → ``calling`` (claimed, call under way) → ``created``
    (``msgid`` recorded) → ``settled`` | ``cancelled``; ``unknown`` (no answer: checked
    against WeCom's list before any new call); ``failed`` (WeCom refused: the groups get
    staff reminders)."""

    __tablename__ = "groupmsg_tasks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(256))
    owner: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    msgid: Mapped[str] = mapped_column(String(128), default="")
    chat_ids: Mapped[list[Any]] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime())  # next call, check or poll
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    owner_sent: Mapped[bool] = mapped_column(default=False)  # get_groupmsg_task status 2
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        UniqueConstraint("source", "owner"),
        Index("ix_groupmsg_tasks_state_next", "state", "next_at"),
    )


class GroupMsgMedia(Base):
    """A temporary media upload (``media/upload``) for an attachment, reused until it expires
    (WeCom keeps it 3 days; ``expires_at`` leaves a margin)."""

    __tablename__ = "groupmsg_media"
    ref: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the source
    media_id: Mapped[str] = mapped_column(String(256))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
