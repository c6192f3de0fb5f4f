"""Auto-reply reads and writes: the ``Replies`` repository.

Rules:
- Cooldown: a rule answers in a group at most once per ``cooldown_s``. The window is a row per
  (group, rule) holding the last answer's time, moved by one conditional upsert that succeeds
  only when the window has passed — so it holds across restarts, instances and re-runs of a
  batch (a rollback takes the move back with it). It is measured on the bot's clock at
  handling time, not the monotonic clock, because it must outlive the process; a wall clock
  stepped back (the stored time lies ahead) opens the window rather than silencing a rule.
- One answer per event: ``autoreply_answers.key`` is unique per inbox event; the answer is
  recorded before the reply is queued, and nothing is queued when it was recorded already.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Repository
from storage.dialect import insert, insert_ignore, rowcount
from storage.models_autoreply import (
    AutoreplyAiRequest,
    AutoreplyAiUsage,
    AutoreplyAnswer,
    AutoreplyCooldown,
    AutoreplyRule,
)


@dataclass(frozen=True, slots=True)
class AiRequest:
    """A question written down for the worker."""

    id: int
    event_id: int | None
    group_id: str
    user_id: str
    platform: str
    message_id: str
    reply_url: str
    status: str


_REQ = tuple(AiRequest.__dataclass_fields__)


class Replies(Repository):
    """Cooldowns, answers, chat-added rules and AI requests of the auto-reply feature."""

    async def take_cooldown(
        self, group_id: str, rule_id: str, seconds: float, now: datetime
    ) -> bool:
        """Start the rule's window in this group; False while a window is still open."""
        table = AutoreplyCooldown.__table__
        stmt = insert(self._db, table).values(group_id=group_id, rule_id=rule_id, answered_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["group_id", "rule_id"],
            set_={"answered_at": stmt.excluded.answered_at},
            where=or_(
                table.c.answered_at <= now - timedelta(seconds=seconds), table.c.answered_at > now
            ),
        ).returning(table.c.rule_id)
        return (await self._execute(stmt)).scalar() is not None

    async def record_answer(self, key: str, group_id: str, **values: Any) -> bool:
        """Write the answer down; False when this event was answered already."""
        table = AutoreplyAnswer.__table__
        values["rule_id"] = str(values["rule_id"])[:80]
        row: dict[str, Any] = dict(key=key, group_id=group_id, **values)
        stmt = insert_ignore(self._db, table, ["key"]).values(row).returning(table.c.id)
        return (await self._execute(stmt)).scalar() is not None

    async def hits(self, group_id: str, first: date, last: date) -> dict[str, dict[date, int]]:
        return await hits(self._db, group_id, first, last)

    # --- chat-added rules (readers: chatrules.ChatRules) ----------------------------------
    async def rules_besides(self, group_id: str, key: str) -> int:
        """How many chat rules the group has other than ``key``."""
        n = await self._scalar(
            select(func.count())
            .select_from(AutoreplyRule)
            .where(AutoreplyRule.group_id == group_id, AutoreplyRule.key != key)
        )
        return int(n or 0)

    async def put_rule(self, group_id: str, key: str, match: str, **values: Any) -> int:
        """Add the chat rule ``key`` or replace its reply; its id."""
        stmt = insert(self._db, AutoreplyRule).values(
            group_id=group_id, key=key, match=match, **values
        )
        stmt = stmt.on_conflict_do_update(index_elements=["group_id", "key"], set_=values)
        return int(await self._scalar(stmt.returning(AutoreplyRule.id)))

    async def remove_rule(self, group_id: str, rule_id: int | None, key: str | None) -> bool:
        """Remove a chat rule by id or key; False when there was none."""
        where = [AutoreplyRule.group_id == group_id]
        where.append(
            AutoreplyRule.id == rule_id if rule_id is not None else AutoreplyRule.key == key
        )
        return rowcount(await self._execute(delete(AutoreplyRule).where(*where))) > 0

    # --- AI requests ----------------------------------------------------------------------
    async def ask(self, row: dict[str, Any]) -> None:
        """Write a question down (once per key)."""
        await self._execute(
            insert_ignore(self._db, AutoreplyAiRequest.__table__, ["key"]).values(row)
        )

    async def request(self, request_id: int) -> AiRequest | None:
        row = await self._scalar(
            select(AutoreplyAiRequest).where(AutoreplyAiRequest.id == request_id)
        )
        return None if row is None else AiRequest(*(getattr(row, f) for f in _REQ))

    async def answered(self, request_id: int, at: datetime) -> None:
        r = AutoreplyAiRequest
        await self._execute(
            update(r).where(r.id == request_id).values(status="answered", finished_at=at)
        )

    async def prune(
        self, requests_before: datetime, cooldowns_before: datetime, usage_before: date
    ) -> None:
        """Forget finished requests, stale cooldowns and old usage."""
        r = AutoreplyAiRequest
        await self._execute(
            delete(r).where(r.status.not_in(("pending", "asking")), r.created_at < requests_before)
        )
        c = AutoreplyCooldown
        await self._execute(delete(c).where(c.answered_at < cooldowns_before))
        u = AutoreplyAiUsage
        await self._execute(delete(u).where(u.day < usage_before))


async def hits(
    session: AsyncSession, group_id: str, first: date, last: date
) -> dict[str, dict[date, int]]:
    """Answers per rule and local day in ``[first, last]``: ``{rule: {day: n}}``."""
    q = (
        select(AutoreplyAnswer.rule_id, AutoreplyAnswer.day, func.count())
        .where(
            AutoreplyAnswer.group_id == group_id,
            AutoreplyAnswer.day >= first,
            AutoreplyAnswer.day <= last,
        )
        .group_by(AutoreplyAnswer.rule_id, AutoreplyAnswer.day)
    )
    out: dict[str, dict[date, int]] = {}
    for rule, day, n in (await session.execute(q)).all():
        out.setdefault(rule, {})[day] = int(n)
    return out


def day_of(at: datetime, tz: Any) -> date:
    return at.astimezone(tz).date()
