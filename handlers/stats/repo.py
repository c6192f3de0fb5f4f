"""The counters statistics keep per group and day (``Counters``).

Rules:
- Counters are upserts keyed by (group, day) (and member) that add in the database, so no
  read-then-write race exists; a dispatcher batch adds up its events' counts and writes each
  row once.
- A member is engaged with a programme post once (unique per post and member).
- A group's recent programme posts are read once per batch (again only when an older message
  needs more).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select

from bot import Repository, prepared
from storage.models_programme import ProgrammeOccurrence
from storage.models_stats import StatsActivity, StatsDaily, StatsHourly, StatsPostEngagement

# a late programme post is made at most the programme's grace period (≤ 24 h) after its time
POST_LOOKBACK = timedelta(hours=25)
_OCC = ProgrammeOccurrence.__table__.c  # (table columns: a Core query, built once)
_RECENT = prepared(
    select(_OCC.id, _OCC.at, _OCC.created_at).where(
        _OCC.group_id == bindparam("group_id"),
        _OCC.status == "sent",
        _OCC.at >= bindparam("slot_since"),
        _OCC.created_at >= bindparam("since"),
    )
)


class Counters(Repository):
    async def bump(self, group_id: str, day: date, members: int | None = None, **add: int) -> None:
        """Add ``add`` (joins/leaves/messages) to the group's day; set ``members`` if given."""
        counts: dict[str, Any] = {"joins": 0, "leaves": 0, "messages": 0, **add}
        await self._upsert_add(
            StatsDaily, {"group_id": group_id, "day": day}, counts, {"members": members}
        )

    async def spoke(self, group_id: str, day: date, user_id: str, at: datetime) -> None:
        """One more message by the member that day (they are active)."""
        await self._upsert_add(
            StatsActivity,
            {"group_id": group_id, "day": day, "user_id": user_id},
            {"messages": 1},
            {"last_at": at},
        )

    async def spoke_in_hour(self, group_id: str, hour: datetime, user_id: str) -> None:
        """One more message by the member in the group's local hour starting at ``hour``."""
        key = {"group_id": group_id, "hour": hour, "user_id": user_id}
        await self._upsert_add(StatsHourly, key, {"messages": 1})

    async def engaged(self, group_id: str, occurrence_id: int, user_id: str) -> None:
        row = {"occurrence_id": occurrence_id, "user_id": user_id, "group_id": group_id}
        await self._insert_ignore(StatsPostEngagement, row, ["occurrence_id", "user_id"])

    async def recent_posts(
        self, group_id: str, since: datetime
    ) -> list[tuple[int, datetime, datetime]]:
        """(id, slot time, posted at) of the group's programme posts made at or after
        ``since``."""
        key = ("stats.recent_posts", group_id)
        have = self._known(key)
        if have is not None and have[0] <= since:
            posts: list[tuple[int, datetime, datetime]] = have[1]
            return posts
        params = {"group_id": group_id, "since": since, "slot_since": since - POST_LOOKBACK}
        rows = [(i, a, c) for i, a, c in (await self._read(_RECENT, params)).all()]
        self._remember(key, (since, rows))
        return rows
