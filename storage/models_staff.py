"""Console staff: accounts with a role, and their signed-in sessions (server-side).

A name is unique. A session row is keyed by the SHA-256 of the cookie's random value, so the
database never holds a usable cookie; it lives until its idle or absolute timeout
(``[console]``), its logout, or its account's disabling or new password.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.models import BigId
from storage.types import UTCDateTime


class StaffUser(Base):
    """One person who signs in to the console. Role: viewer | operator | admin."""

    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffSession(Base):
    """A signed-in browser: ``id`` is the hex SHA-256 of its cookie value."""

    __tablename__ = "staff_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


__all__ = ["StaffSession", "StaffUser"]
