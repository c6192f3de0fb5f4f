"""The counters statistics keep per group and day (``Counters``).

Rules:
- Counters are upserts keyed by (group, day) (and member) that add in the database, so no
  read-then-write race exists; a dispatcher batch adds up its events' counts and writes each
  row once.
- A member is engaged with a programme post once (unique per post and member).
- A group's recent programme posts are read once per batch (again only when an older message
  needs more); a batch of several events reads those of all its groups in one query first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

from bot import MessageReceived, Repository, prepared
from handlers.stats.config import StatsConfig
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

_RECENT_IN = prepared(
    select(_OCC.group_id, _OCC.id, _OCC.at, _OCC.created_at).where(
        _OCC.group_id.in_(bindparam("groups", expanding=True)),
        _OCC.status == "sent",
        _OCC.at >= bindparam("slot_since"),
        _OCC.created_at >= bindparam("since"),
    )
)

if TYPE_CHECKING:
    from bot import Event, Services


class Counters(Repository):
    async def preload(self, events: Sequence[Event], services: Services) -> None:
        """A batch of several events: the recent posts of every group a message came from, in
        one query, kept as ``recent_posts`` would keep each (a lone event asks when needed)."""
        if not self._in_batch or len(events) < 2:
            return
        now = services.clock.now()
        since: dict[str, datetime] = {}
        for ev in events:
            if isinstance(ev, MessageReceived) and ev.group_id and ev.user_id:
                cfg = services.config.feature(StatsConfig, ev.group_id)
                at = min(ev.occurred_at, now) - timedelta(minutes=cfg.engagement_minutes)
                since[ev.group_id] = min(since.get(ev.group_id, at), at)
        if not since:
            return
        lo = min(since.values())
        params = {"groups": sorted(since), "since": lo, "slot_since": lo - POST_LOOKBACK}
        posts: dict[str, list[tuple[int, datetime, datetime]]] = {g: [] for g in since}
        for g, i, a, c in (await self._read(_RECENT_IN, params)).all():
            if c >= since[g] and a >= since[g] - POST_LOOKBACK:  # (what one group's query reads)
                posts[g].append((i, a, c))
        for g, found in posts.items():
            self._remember(("stats.recent_posts", g), (since[g], found), keep=True)

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
