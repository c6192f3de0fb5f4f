"""Retention reads only the aged rows: every statement ``prune`` runs on the inbox, the outbox
and the audit log is answered from an index on (status, time), the audit log's time or the
primary key, never by scanning or sorting the table — on SQLite (``EXPLAIN QUERY PLAN``) and
on PostgreSQL (``EXPLAIN`` with sequential scans priced out, so the tiny test tables cannot
hide a missing index)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.engine import Connection

from bot.retention import prune
from bot.sections import RetentionConfig
from storage.models import AuditEntry, InboxEvent, OutboxMessage
from tests.harness import Harness
from tests.test_retention import _inbox, _outbox

MakeHarness = Callable[..., Awaitable[Harness]]
CFG = RetentionConfig(inbox_days=30, outbox_days=30, audit_days=365)
TABLES = ("inbox", "outbox", "audit_log")
INDEXES = ("ix_inbox_aged", "ix_outbox_aged", "ix_audit_log_created_at")


def _plan(conn: Connection, statement: str, params: Any) -> str:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        return "\n".join(str(r[-1]) for r in rows)
    conn.exec_driver_sql("SET enable_seqscan = off")
    try:
        return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
    finally:
        conn.exec_driver_sql("RESET enable_seqscan")


def _scans_a_table(plan: str) -> bool:
    """A step that reads a whole table or sorts what it read: SQLite's ``SCAN <table>``
    (without an index) or temporary B-tree, PostgreSQL's sequential scan or sort."""
    for line in plan.splitlines():
        if "Seq Scan" in line or "TEMP B-TREE" in line or "Sort" in line:
            return True
        words = line.replace("--", " ").split()
        if "SCAN" in words and "INDEX" not in words:
            return True
    return False


async def test_prune_reads_by_index_on_every_table(make_harness: MakeHarness) -> None:
    h = await make_harness()
    now = h.clock.now()
    old, young = now - timedelta(days=400), now - timedelta(days=1)
    async with h.bot.db.transaction() as s:
        await s.execute(
            insert(InboxEvent),
            [_inbox(f"k{i}", "done", old if i % 2 else young) for i in range(40)],
        )
        await s.execute(insert(OutboxMessage), [_outbox("sent", old) for _ in range(40)])
        await s.execute(
            insert(AuditEntry), [dict(action="a", detail={}, created_at=old) for _ in range(5)]
        )
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        if any(f" {t} " in f" {statement} ".replace("\n", " ") for t in TABLES):
            seen.append((statement, params))

    engine = h.bot.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert await prune(h.bot.db, CFG, now, dry_run=True) == {
            "inbox": 20,
            "outbox": 40,
            "audit_log": 5,
        }
        assert (await prune(h.bot.db, CFG, now, chunk=7))["inbox"] == 20
    finally:
        event.remove(engine, "before_cursor_execute", record)
    reads = [(st, p) for st, p in seen if st.lstrip().upper().startswith(("SELECT", "DELETE"))]
    assert len(reads) > 10, reads  # counts, chunks, deletes of all three tables
    async with h.bot.db.engine.connect() as conn:
        for statement, params in reads:
            plan = await conn.run_sync(_plan, statement, params)
            assert not _scans_a_table(plan), f"{statement}\n{plan}"
            if statement.lstrip().upper().startswith("SELECT"):
                assert any(ix in plan for ix in INDEXES), f"{statement}\n{plan}"
