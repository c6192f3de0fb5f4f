"""What the fan-out reads and writes (``Fanout``): due broadcasts, their groups' states, the
groups' outbox messages.

Rules: a group moves ``scheduled`` → ``queued`` (or ``failed``) by a conditional UPDATE, so
a group claimed meanwhile by another run, or cancelled, is not returned and gets nothing
queued; a broadcast is ``queued`` once none of its groups is still ``scheduled``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, or_, select, update

from bot import Config, Repository, queue_group_image, queue_group_text
from handlers.broadcast.repo import known_groups
from handlers.broadcast.targets import Known
from storage.models_broadcast import Broadcast, BroadcastGroup

Todo = tuple[int, str, str, bool, str]  # broadcast, group, text, markdown, image URL


def _claim(bid: int, gids: list[str], state: str = "scheduled") -> Any:
    """UPDATE of the broadcast's groups ``gids`` that are still in ``state``."""
    t = BroadcastGroup.__table__
    return update(t).where(t.c.broadcast_id == bid, t.c.group_id.in_(gids), t.c.state == state)


class Fanout(Repository):
    async def official(self, bids: list[int]) -> dict[int, bool]:
        """Which of these broadcasts go to customer groups as 企业群发."""
        rows = await self._query(
            select(Broadcast.id, Broadcast.official).where(Broadcast.id.in_(bids))
        )
        return {int(b): bool(o) for b, o in rows.all()}

    async def due(self, now: datetime) -> list[int]:
        """The broadcasts whose time has come and that still have groups to do."""
        return await self._scalars(
            select(Broadcast.id).where(
                Broadcast.status == "scheduled", or_(Broadcast.at.is_(None), Broadcast.at <= now)
            )
        )

    async def next_groups(self, due: list[int], limit: int) -> list[Todo]:
        """(broadcast, group, text, markdown, image) still scheduled, in order, at most
        ``limit``."""
        rows = (
            await self._query(
                select(
                    BroadcastGroup.broadcast_id,
                    BroadcastGroup.group_id,
                    Broadcast.text,
                    Broadcast.action,
                    Broadcast.image,
                )
                .join(Broadcast, Broadcast.id == BroadcastGroup.broadcast_id)
                .where(BroadcastGroup.broadcast_id.in_(due), BroadcastGroup.state == "scheduled")
                .order_by(BroadcastGroup.broadcast_id, BroadcastGroup.group_id)
                .limit(limit)
            )
        ).all()
        return [(b, g, t, a == "markdown", i or "") for b, g, t, a, i in rows]

    async def finish(self, due: list[int]) -> None:
        """Broadcasts with no group left scheduled become ``queued``."""
        left = exists().where(
            BroadcastGroup.broadcast_id == Broadcast.id, BroadcastGroup.state == "scheduled"
        )
        await self._execute(
            update(Broadcast)
            .where(Broadcast.id.in_(due), Broadcast.status == "scheduled", ~left)
            .values(status="queued")
            .execution_options(synchronize_session=False)
        )

    async def known(self, gids: Sequence[str]) -> dict[str, Known]:
        return await known_groups(self._db, gids)

    async def fail(self, bid: int, gid: str, reason: str, now: datetime) -> None:
        await self._execute(
            _claim(bid, [gid]).values(state="failed", reason=reason[:256], queued_at=now)
        )

    async def claim(self, bid: int, gids: list[str], now: datetime) -> list[str]:
        """Claim the groups still scheduled (``queued``, one part); those claimed."""
        claimed = await self._scalars(
            _claim(bid, gids)
            .values(state="queued", parts=1, queued_at=now)
            .returning(BroadcastGroup.__table__.c.group_id)
        )
        return [str(g) for g in claimed]

    async def queue(self, config: Config, now: datetime, gid: str, body: str, **how: Any) -> int:
        """Queue the group's message (``queue_group_text``); how many posts it became."""
        return await queue_group_text(self._db, config, now=now, group_id=gid, text=body, **how)

    async def queue_image(
        self, config: Config, now: datetime, gid: str, url: str, **how: Any
    ) -> None:
        """Queue the group's image (``queue_group_image``: the outbox's image row)."""
        await queue_group_image(self._db, config, now=now, group_id=gid, image=url, **how)

    async def set_parts(self, bid: int, gid: str, parts: int) -> None:
        await self._execute(_claim(bid, [gid], "queued").values(parts=parts))
