"""The moderation tables: warnings, the moderation log and the allow-list (``Moderation``).

Rules:
- Warnings and log rows are keyed (``key`` unique): writing one again returns None and
  changes nothing, so a re-run of an event cannot warn or log twice.
- A warning counts while in force: not revoked and not expired.
- The allow-list of a batch's speakers is read in one query before the batch (``preload``).
- Reads return frozen values; nothing here decides what to do (``handlers.rules.actions``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update

from bot import Event, MessageReceived, Repository, Services
from storage.dialect import insert_ignore
from storage.models_moderation import AllowListEntry, ModerationLog, Warning_


@dataclass(frozen=True, slots=True)
class Warning:
    id: int
    group_id: str
    user_id: str
    rule: str
    reason: str
    created_at: datetime
    expires_at: datetime
    revoked: bool


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: int
    group_id: str
    user_id: str
    rule: str
    action: str
    reason: str
    shadow: bool
    warning_id: int | None
    undone_at: datetime | None
    created_at: datetime
    actor_id: str


_W = tuple(Warning.__dataclass_fields__)
_L = tuple(LogEntry.__dataclass_fields__)


def _warning(row: Warning_) -> Warning:
    return Warning(*(getattr(row, f) for f in _W))


def _entry(row: ModerationLog) -> LogEntry:
    return LogEntry(*(getattr(row, f) for f in _L))


class Moderation(Repository):
    async def preload(self, events: Sequence[Event], services: Services) -> None:
        """The allow-list entries of a batch's speakers, in one query."""
        keys = [
            (ev.group_id, ev.user_id)
            for ev in events
            if isinstance(ev, MessageReceived) and ev.group_id and ev.user_id
        ]
        await self._load_rows(AllowListEntry, keys)

    # --- allow-list ----------------------------------------------------------------------
    async def allowed(self, group_id: str, user_id: str) -> bool:
        return await self._row(AllowListEntry, group_id, user_id) is not None

    async def allow_list(self, group_id: str) -> list[str]:
        return await self._scalars(
            select(AllowListEntry.user_id)
            .where(AllowListEntry.group_id == group_id)
            .order_by(AllowListEntry.user_id)
        )

    async def set_allowed(
        self, group_id: str, user_id: str, allowed: bool, by: str, at: datetime
    ) -> None:
        pk = (group_id, user_id)
        if allowed:
            stmt = insert_ignore(self._db, AllowListEntry, ["group_id", "user_id"]).values(
                group_id=group_id, user_id=user_id, added_by=by, added_at=at
            )
        else:
            stmt = delete(AllowListEntry).where(
                AllowListEntry.group_id == group_id, AllowListEntry.user_id == user_id
            )
        await self._execute(stmt, changes=[(AllowListEntry, pk)])

    # --- warnings ------------------------------------------------------------------------
    async def warning_count(self, group_id: str, user_id: str, now: datetime) -> int:
        """Warnings in force (not expired, not revoked) for the member."""
        n = await self._scalar(
            select(func.count())
            .select_from(Warning_)
            .where(
                Warning_.group_id == group_id,
                Warning_.user_id == user_id,
                Warning_.revoked.is_(False),
                Warning_.expires_at > now,
            )
        )
        return int(n or 0)

    async def add_warning(self, key: str, **values: object) -> int | None:
        """A new warning under ``key``; None when the key was used (nothing changes)."""
        stmt = (
            insert_ignore(self._db, Warning_, ["key"])
            .values(key=key, revoked=False, revoked_by="", **values)
            .returning(Warning_.id)
        )
        new_id: int | None = await self._scalar(stmt)
        return new_id

    async def warning(self, warning_id: int) -> Warning | None:
        row = await self._scalar(select(Warning_).where(Warning_.id == warning_id))
        return None if row is None else _warning(row)

    async def last_warning(self, group_id: str, user_id: str, now: datetime) -> Warning | None:
        """The member's latest warning in force."""
        row = await self._scalar(
            select(Warning_)
            .where(
                Warning_.group_id == group_id,
                Warning_.user_id == user_id,
                Warning_.revoked.is_(False),
                Warning_.expires_at > now,
            )
            .order_by(Warning_.id.desc())
            .limit(1)
        )
        return None if row is None else _warning(row)

    async def warnings_of(self, group_id: str, user_id: str) -> list[Warning]:
        rows = await self._scalars(
            select(Warning_)
            .where(Warning_.group_id == group_id, Warning_.user_id == user_id)
            .order_by(Warning_.id)
        )
        return [_warning(r) for r in rows]

    async def revoke(self, warning_id: int, by: str, at: datetime) -> None:
        """Revoke a warning and mark its log rows undone."""
        await self._execute(
            update(Warning_).where(Warning_.id == warning_id).values(revoked=True, revoked_by=by)
        )
        await self._execute(
            update(ModerationLog)
            .where(ModerationLog.warning_id == warning_id, ModerationLog.undone_at.is_(None))
            .values(undone_at=at)
        )

    # --- the log -------------------------------------------------------------------------
    async def log(self, key: str, **values: object) -> int | None:
        """A moderation-log row under ``key``; None when it exists (the action was taken)."""
        stmt = (
            insert_ignore(self._db, ModerationLog, ["key"])
            .values(key=key, **values)
            .returning(ModerationLog.id)
        )
        new_id: int | None = await self._scalar(stmt)
        return new_id

    async def logged(self, key: str) -> bool:
        found = await self._scalar(select(ModerationLog.id).where(ModerationLog.key == key))
        return found is not None

    async def entry(self, log_id: int) -> LogEntry | None:
        row = await self._scalar(select(ModerationLog).where(ModerationLog.id == log_id))
        return None if row is None else _entry(row)

    async def entries_of(self, group_id: str, user_id: str, limit: int) -> list[LogEntry]:
        rows = await self._scalars(
            select(ModerationLog)
            .where(ModerationLog.group_id == group_id, ModerationLog.user_id == user_id)
            .order_by(ModerationLog.id.desc())
            .limit(limit)
        )
        return [_entry(r) for r in rows]

    async def mark_undone(self, log_id: int, at: datetime) -> None:
        await self._execute(
            update(ModerationLog).where(ModerationLog.id == log_id).values(undone_at=at)
        )
