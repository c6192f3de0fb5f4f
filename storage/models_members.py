"""Member tags (种子用户, VIP, 已购 …): one row per (group, member, tag).

The primary key is the unique constraint: a member carries a tag once, however often it is
set — by an admin in chat, through the API or by an auto-tag rule (``source``). An auto-tag
rule only ever takes off rows it put on (``source = 'auto'``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
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
