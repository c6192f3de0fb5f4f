"""Check-in queries and writes: the ``Checkins`` repository (never commit: the unit of work
does).

Rules:
- The per-member totals row is kept in step with the check-in rows inside the same unit of
  work; after a void or a make-up it is rebuilt from the rows themselves.
- Whether a member has a row for a day is decided before inserting (read in bulk before a
  dispatcher batch: ``preload``); the unique constraint on (group, member, day) stays the last
  word — a conflict fails the batch, and the one-event retry then finds the row.
- Reads return frozen values (``Totals``); writes are the methods below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, Event, MessageReceived, Repository, Services, prepared
from handlers.checkin import logic
from handlers.checkin.config import CheckinConfig
from handlers.checkin.logic import Totals
from handlers.checkin.ranking import checkins_on, has_checked_in, leaderboard, staff_of
from storage.dialect import rowcount
from storage.models_checkin import Checkin, CheckinDayCount, CheckinStats

WORDS = ("签到", "打卡", "checkin")  # a message with none of these is no check-in
_C = Checkin.__table__.c  # (table columns: a Core query, built once)
_DAY_KEYS = ("group_id", "user_id", "day")
_DAYS = prepared(
    select(_C.group_id, _C.user_id, _C.day).where(
        *[_C[k].in_(bindparam(k, expanding=True)) for k in _DAY_KEYS]
    )
)
_FIELDS = tuple(Totals.__dataclass_fields__)
CHUNK = 400


def _day_key(group_id: str, user_id: str, day: date) -> tuple[str, str, str, date]:
    return ("checkin.day", group_id, user_id, day)


class Checkins(Repository):
    """Check-ins, members' totals and the day's count, per group."""

    async def preload(self, events: Sequence[Event], services: Services) -> None:
        """For the batch's messages that look like a check-in: whether the day is taken, the
        member's totals and the day's count, in three queries."""
        now = services.clock.now()
        keys = []
        for ev in events:
            if isinstance(ev, MessageReceived) and ev.group_id and any(w in ev.text for w in WORDS):
                cfg = services.config.feature(CheckinConfig, ev.group_id)
                day = logic.local_day(now, services.config.timezone(ev.group_id), cfg.reset_hour)
                keys.append((ev.group_id, ev.user_id, day))
        await self.load_days(keys)

    async def load_days(self, keys: list[tuple[str, str, date]]) -> None:
        """Which of these (group, member, day) have a row, and the members' totals."""
        if not self._in_batch or not keys:
            return
        keys = list(dict.fromkeys(keys))
        found: set[tuple[str, str, date]] = set()
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i : i + CHUNK]
            # one IN list per column, then the exact keys (cheaper than a tuple IN)
            params = {name: sorted({k[n] for k in chunk}) for n, name in enumerate(_DAY_KEYS)}
            rows = await self._read(_DAYS, params)
            found.update((g, u, d) for g, u, d in rows.all())
        for g, u, d in keys:
            self._remember(_day_key(g, u, d), (g, u, d) in found, keep=True)
        await self._load_rows(CheckinStats, [(g, u) for g, u, _ in keys])
        await self._load_rows(CheckinDayCount, [(g, d) for g, _, d in keys])

    # --- reads ---------------------------------------------------------------------------
    async def totals(self, group_id: str, user_id: str) -> Totals:
        """The member's totals as this unit of work sees them (zeros when none)."""
        row = await self._row(CheckinStats, group_id, user_id)
        if row is None:
            return Totals()
        return Totals(*(getattr(row, f) for f in _FIELDS))

    async def has_day(self, group_id: str, user_id: str, day: date) -> bool:
        """True when the member has a row that day (a voided one counts: the day is used)."""

        async def load() -> bool:
            found = await self._scalar(
                select(Checkin.id).where(
                    Checkin.group_id == group_id, Checkin.user_id == user_id, Checkin.day == day
                )
            )
            return found is not None

        return bool(await self._recall(_day_key(group_id, user_id, day), load))

    async def days(self, group_id: str, user_id: str) -> set[date]:
        """The member's (non-void) check-in days."""
        rows = await self._scalars(
            select(Checkin.day).where(
                Checkin.group_id == group_id, Checkin.user_id == user_id, Checkin.void.is_(False)
            )
        )
        return set(rows)

    async def checked_in_since(self, group_id: str, user_id: str, since: datetime) -> bool:
        """True when the member has a (non-void) check-in at or after ``since``."""
        return await has_checked_in(self._db, group_id, user_id, since)

    async def on_day(self, group_id: str, day: date) -> list[str]:
        """User ids who checked in on the group's local ``day``, in check-in order."""
        return await checkins_on(self._db, group_id, day)

    async def board(
        self, group_id: str, board: str, limit: int, today: date, exclude: set[str]
    ) -> list[tuple[str, str, int]]:
        """(user_id, name, value) rows of a board, best first (see ``leaderboard``)."""
        return await leaderboard(self._db, group_id, board, limit, today, exclude)

    async def ranked(
        self, config: Config, group_id: str, board: str, limit: int, now: datetime
    ) -> list[tuple[str, str, int]]:
        """A board as the group shows it: its day at ``now``, staff left off when
        ``exclude_staff``."""
        cfg = config.feature(CheckinConfig, group_id)
        exclude = staff_of(cfg, config.group_admins(group_id), config.bot.admins)
        today = logic.local_day(now, config.timezone(group_id), cfg.reset_hour)
        return await leaderboard(self._db, group_id, board, limit, today, exclude)

    # --- writes --------------------------------------------------------------------------
    async def record(
        self,
        group_id: str,
        user_id: str,
        day: date,
        *,
        at: datetime,
        points: int,
        streak: int,
        content: str = "",
        image_url: str = "",
        makeup: bool = False,
        event_id: int | None = None,
    ) -> None:
        """Insert the day's check-in (the caller made sure the day is free: ``has_day``)."""
        values = dict(
            group_id=group_id,
            user_id=user_id,
            day=day,
            at=at,
            points=points,
            streak=streak,
            content=content[:2000],
            image_url=image_url[:1000],
            makeup=makeup,
            void=False,
            event_id=event_id,
        )
        await self._insert(Checkin, values)
        self._remember(_day_key(group_id, user_id, day), True)

    async def save_totals(self, group_id: str, user_id: str, totals: Totals) -> Totals:
        """Store the member's totals (the row is made on their first check-in)."""
        row = await self._row(CheckinStats, group_id, user_id)
        if row is None:
            self._new(CheckinStats, group_id=group_id, user_id=user_id, **_values(totals))
            return totals
        for f in _FIELDS:
            v = getattr(totals, f)
            if getattr(row, f) != v:
                setattr(row, f, v)
        return totals

    async def add_cards(self, group_id: str, user_id: str, n: int) -> Totals:
        """Give (or with a negative ``n`` take) make-up cards; the new totals."""
        t = await self.totals(group_id, user_id)
        return await self.save_totals(group_id, user_id, replace(t, cards=t.cards + n))

    async def count_one(self, group_id: str, day: date) -> int:
        """Count one more check-in on ``day`` and return its rank (1 = first of the day)."""
        row = await self._row(CheckinDayCount, group_id, day)
        if row is None:
            row = self._new(CheckinDayCount, group_id=group_id, day=day, count=0)
        row.count += 1
        return int(row.count)

    async def void(self, group_id: str, user_id: str, day: date) -> bool:
        """Mark the member's check-in of ``day`` void (the day stays used); False when there
        was none to void."""
        res = await self._execute(
            update(Checkin)
            .where(
                Checkin.group_id == group_id,
                Checkin.user_id == user_id,
                Checkin.day == day,
                Checkin.void.is_(False),
            )
            .values(void=True)
        )
        return bool(rowcount(res))

    async def rebuild(self, group_id: str, user_id: str, today: date) -> Totals:
        """Recompute a member's totals from the check-in rows (after a void or a make-up)."""
        rows = await self._query(
            select(Checkin.day, Checkin.points).where(
                Checkin.group_id == group_id, Checkin.user_id == user_id, Checkin.void.is_(False)
            )
        )
        t = logic.rebuilt(await self.totals(group_id, user_id), list(rows.all()), today)
        return await self.save_totals(group_id, user_id, t)


def _values(t: Totals) -> dict[str, object]:
    return {f: getattr(t, f) for f in _FIELDS}


async def stats_row(session: AsyncSession, group_id: str, user_id: str) -> Totals:
    """The member's committed totals (zeros when none): for readers outside a handler."""
    return await Checkins(session).totals(group_id, user_id)


async def days_of(session: AsyncSession, group_id: str, user_id: str) -> set[date]:
    return await Checkins(session).days(group_id, user_id)
