"""Retention: finished rows of the inbox, the outbox and the audit log are pruned by age.

Rules:
- Only finished rows go: inbox events ``done`` or ``failed`` (never one still queued or waiting
  for a retry), outbox rows ``sent``, ``dead`` or ``cancelled`` (never one queued or retrying),
  audit entries.
- An inbox row is its event's dedup key: it is kept at least ``[retention] inbox_days`` (≥ 1
  day, far beyond any platform's retry window), so a redelivery is still answered without a
  second effect. ``0`` days keeps a table forever.
- Rows go in chunks of ``CHUNK`` per transaction, so SQLite's write lock is never held long.
  Counting and choosing a chunk read only aged rows, through indexes on (status, time) and the
  audit log's time (no order asked for, so a chunk stops at ``CHUNK`` rows): the hourly run
  costs nothing near a table scan, also when nothing has aged out.
- Safe on any number of instances at once: each chunk deletes by id *and* the same condition,
  so a row another instance removed first is simply not counted again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, delete, func, select

from bot.feature import Job
from bot.sections import RetentionConfig
from storage.db import Database
from storage.models import AuditEntry, InboxEvent, OutboxMessage

if TYPE_CHECKING:
    from bot.runtime import Bot

log = logging.getLogger("groupbot.retention")

CHUNK = 1000
EVERY_S = 3600  # hourly: a restart never postpones it long; each run removes what aged out


@dataclass(frozen=True, slots=True)
class _Rule:
    table: str
    model: Any
    days: int
    finished: ColumnElement[bool]


def _rules(cfg: RetentionConfig, now: datetime) -> list[tuple[_Rule, ColumnElement[bool]]]:
    """Each kept table with the condition of the rows that may go now (0 days: none)."""
    rules = [
        _Rule(
            "inbox",
            InboxEvent,
            cfg.inbox_days,
            InboxEvent.status.in_(("done", "failed")),
        ),
        _Rule(
            "outbox",
            OutboxMessage,
            cfg.outbox_days,
            OutboxMessage.status.in_(("sent", "dead", "cancelled")),
        ),
        _Rule("audit_log", AuditEntry, cfg.audit_days, AuditEntry.id.is_not(None)),
    ]
    out: list[tuple[_Rule, ColumnElement[bool]]] = []
    for r in rules:
        if r.days <= 0:
            continue
        cutoff = now - timedelta(days=r.days)
        stamp = r.model.received_at if r.model is InboxEvent else r.model.created_at
        out.append((r, r.finished & (stamp < cutoff)))
    return out


async def prune(
    db: Database, cfg: RetentionConfig, now: datetime, *, dry_run: bool = False, chunk: int = CHUNK
) -> dict[str, int]:
    """Remove (or with ``dry_run`` only count) the rows past retention; rows per table."""
    removed = {"inbox": 0, "outbox": 0, "audit_log": 0}
    for rule, cond in _rules(cfg, now):
        if dry_run:
            async with db.read() as s:
                n = await s.scalar(select(func.count()).select_from(rule.model).where(cond))
            removed[rule.table] = int(n or 0)
            continue
        while True:
            async with db.transaction() as s:
                ids = list(await s.scalars(select(rule.model.id).where(cond).limit(chunk)))
                if not ids:
                    break
                res = await s.execute(
                    delete(rule.model.__table__).where(rule.model.id.in_(ids), cond)
                )
                removed[rule.table] += int(getattr(res, "rowcount", 0) or 0)
            if len(ids) < chunk:
                break
    if any(removed.values()) and not dry_run:
        log.info("retention pruned %s", removed)
    return removed


async def _run(bot: Bot) -> None:
    await prune(bot.db, bot.config.retention, bot.clock.now())


# the core's periodic prune; runs on the scheduler leader like the features' jobs
JOB = Job("retention-prune", _run, EVERY_S)
