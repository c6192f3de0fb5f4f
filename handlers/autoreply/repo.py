"""Auto-reply reads and writes, through the Context's unit of work.

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

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Context
from storage.dialect import insert, insert_ignore
from storage.models_autoreply import AutoreplyAnswer, AutoreplyCooldown


async def take_cooldown(ctx: Context, rule_id: str, seconds: float) -> bool:
    """Start the rule's window in this group; False while a window is still open."""
    assert ctx.group_id is not None
    now = ctx.now()
    table = AutoreplyCooldown.__table__
    stmt = insert(ctx.session, table).values(
        group_id=ctx.group_id, rule_id=rule_id, answered_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["group_id", "rule_id"],
        set_={"answered_at": stmt.excluded.answered_at},
        where=or_(
            table.c.answered_at <= now - timedelta(seconds=seconds), table.c.answered_at > now
        ),
    ).returning(table.c.rule_id)
    return (await ctx.session.execute(stmt)).scalar() is not None


async def record_answer(
    ctx: Context, key: str, rule_id: str, source: str, user_id: str, day: date
) -> bool:
    """Write the answer down; False when this event was answered already."""
    assert ctx.group_id is not None
    table = AutoreplyAnswer.__table__
    row: dict[str, Any] = dict(
        key=key,
        group_id=ctx.group_id,
        rule_id=rule_id[:80],
        source=source,
        user_id=user_id,
        day=day,
        created_at=ctx.now(),
    )
    stmt = insert_ignore(ctx.session, table, ["key"]).values(row).returning(table.c.id)
    return (await ctx.session.execute(stmt)).scalar() is not None


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
