"""Server-side console sessions: a random cookie value, stored only as its SHA-256.

Rules:
- A session ends ``[console] idle_minutes`` after its last request or ``max_hours`` after
  signing in, whichever comes first (wall clock: sessions outlive a restart), at logout, or
  when its account is disabled or gets a new password.
- The last-seen time is written at most once a minute per session, not on every page.
- Signing in removes the sessions that have run out (the table does not grow with time).
- Failed sign-ins are counted per name and per address on the monotonic clock: after
  ``max_failures`` within ``lockout_s`` seconds, signing in is refused until the oldest of
  them is that old (a stepped wall clock neither unlocks nor extends it).
"""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.sections import ConsoleConfig
from bot.staff.accounts import Account
from storage.models_staff import StaffSession, StaffUser

TOUCH_EVERY = timedelta(minutes=1)
MAX_TRACKED = 10_000  # names and addresses with recent failures kept in memory


def session_id(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


@dataclass(frozen=True)
class Signed:
    """A live session and its account."""

    account: Account
    session_id: str
    expired: bool = False  # ran out: refuse, and remove it
    touch: bool = False  # last seen over a minute ago: note this use


async def start(s: AsyncSession, account: Account, now: datetime, cfg: ConsoleConfig) -> str:
    """A new session for ``account``; returns the cookie value (never stored)."""
    idle, most = timedelta(minutes=cfg.idle_minutes), timedelta(hours=cfg.max_hours)
    await s.execute(
        delete(StaffSession).where(
            or_(StaffSession.last_seen_at < now - idle, StaffSession.created_at < now - most)
        )
    )
    cookie = secrets.token_urlsafe(32)
    s.add(StaffSession(id=session_id(cookie), user_id=account.id, created_at=now, last_seen_at=now))
    return cookie


async def find(s: AsyncSession, cookie: str, now: datetime, cfg: ConsoleConfig) -> Signed | None:
    """The live session of ``cookie``, else None. Read-only: ``settle`` then removes a run-out
    session or moves the last-seen time on (``Signed.touch``/``Signed.expired``)."""
    sid = session_id(cookie)
    row = (
        await s.execute(
            select(StaffSession, StaffUser)
            .join(StaffUser, StaffUser.id == StaffSession.user_id)
            .where(StaffSession.id == sid)
        )
    ).first()
    if row is None:
        return None
    sess, user = row
    idle, most = timedelta(minutes=cfg.idle_minutes), timedelta(hours=cfg.max_hours)
    expired = user.disabled or now - sess.last_seen_at > idle or now - sess.created_at > most
    account = Account(user.id, user.name, user.role, user.disabled, user.created_at)
    return Signed(account, sid, expired=expired, touch=now - sess.last_seen_at >= TOUCH_EVERY)


async def settle(s: AsyncSession, signed: Signed, now: datetime) -> None:
    """Remove the run-out session, or note that it was just used."""
    if signed.expired:
        await s.execute(delete(StaffSession).where(StaffSession.id == signed.session_id))
    elif signed.touch:
        await s.execute(
            update(StaffSession)
            .where(StaffSession.id == signed.session_id)
            .values(last_seen_at=now)
        )


async def end(s: AsyncSession, cookie: str) -> None:
    await s.execute(delete(StaffSession).where(StaffSession.id == session_id(cookie)))


class Throttle:
    """Failed sign-ins per key (``name:…``, ``ip:…``) on the monotonic clock."""

    def __init__(self) -> None:
        self._fails: dict[str, deque[float]] = {}

    def _recent(self, key: str, mono: float, window: float) -> deque[float]:
        q = self._fails.get(key, deque())
        while q and mono - q[0] >= window:
            q.popleft()
        return q

    def locked(self, keys: list[str], mono: float, cfg: ConsoleConfig) -> bool:
        return any(len(self._recent(k, mono, cfg.lockout_s)) >= cfg.max_failures for k in keys)

    def failed(self, keys: list[str], mono: float, cfg: ConsoleConfig) -> None:
        for k in keys:
            q = self._recent(k, mono, cfg.lockout_s)
            q.append(mono)
            while len(q) > cfg.max_failures:
                q.popleft()
            self._fails.pop(k, None)
            self._fails[k] = q  # (most recent last: the oldest go first when full)
        while len(self._fails) > MAX_TRACKED:
            del self._fails[next(iter(self._fails))]

    def cleared(self, keys: list[str]) -> None:
        for k in keys:
            self._fails.pop(k, None)
