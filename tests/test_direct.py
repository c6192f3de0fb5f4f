"""Prepared statements on the driver connection (storage/direct.py).

Rules pinned here: a prepared statement answers exactly what SQLAlchemy answers for the same
statement (types through their processors both ways, ``IN`` lists of any length including
none, an INSERT's column defaults), in the same transaction; the connection's
``before_cursor_execute`` listeners see it; a constraint error is SQLAlchemy's
``IntegrityError``. On PostgreSQL (``GROUPBOT_TEST_DB``) the same tests run the asyncpg path
(storage/direct_pg.py: ``IN`` lists as one array parameter, an AUTOCOMMIT connection's statement
committed on its own).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.config import parse_config
from handlers import FEATURES
from storage import direct
from storage.db import Database
from storage.models import InboxEvent, Member
from storage.models_checkin import Checkin
from tests import pgdb

NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
M = Member.__table__
I = InboxEvent.__table__  # noqa: E741


def by_keys() -> Any:
    return select(*M.c).where(
        M.c.group_id.in_(bindparam("g", expanding=True)),
        M.c.user_id.in_(bindparam("u", expanding=True)),
    )


def counted() -> Any:
    return (
        select(M.c.group_id, func.count())
        .where(M.c.in_group.is_(True), M.c.first_seen_at >= bindparam("since"))
        .group_by(M.c.group_id)
        .order_by(M.c.group_id)
    )


PREPARED_KEYS = direct.prepared(by_keys())
PREPARED_COUNT = direct.prepared(counted())
PREPARED_INSERT = direct.prepared(insert(M))
PREPARED_INBOX = direct.prepared(insert(I))
PREPARED_UPDATE = direct.prepared(
    update(M)
    .where(M.c.group_id == bindparam("pk_g"), M.c.user_id == bindparam("pk_u"))
    .values(messages=bindparam("messages"), last_active_at=bindparam("last_active_at"))
)


async def _db(tmp_path: Path) -> Database:
    parse_config({}, FEATURES, environ={})  # registers the feature tables
    db = Database(pgdb.database_url(tmp_path, "d.db"))
    if db.dialect == "sqlite":
        await db.create_all()
    return db


def member(g: str, u: str, **kw: Any) -> dict[str, Any]:
    # name, role, in_group, join_count and messages left to the columns' defaults
    return {"group_id": g, "user_id": u, "first_seen_at": NOW, **kw}


async def test_a_prepared_query_answers_what_sqlalchemy_answers(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        async with db.transaction() as s:
            conn = await s.connection()
            rows = [member("g1", f"u{i}") for i in range(5)] + [member("g2", "u1")]
            await direct.run(conn, PREPARED_INSERT, rows)
            await direct.run(conn, PREPARED_INSERT, [member("g3", "u2", in_group=False)])
            ask: dict[str, Any] = {"g": ["g1", "g2", "g3"], "u": ["u1", "u2", "u9"]}
            for params in (ask, {"g": ["g1"], "u": ["u3"]}, {"g": [], "u": ["u1"]}):
                got = (await direct.run(conn, PREPARED_KEYS, params)).mappings().all()
                want = (await conn.execute(by_keys(), params)).mappings().all()
                assert sorted(tuple(dict(r).items()) for r in got) == sorted(
                    tuple(dict(w).items()) for w in want
                )
            assert type(await direct.run(conn, PREPARED_KEYS, ask)) is direct.Result
            got_rows = (await direct.run(conn, PREPARED_KEYS, ask)).all()
            one = next(r for r in got_rows if r.group_id == "g3")
            assert one.in_group is False and one.role == "" and one.messages == 0
            assert one.first_seen_at == NOW and one.first_seen_at.tzinfo is not None
            since = {"since": NOW}
            got_counts = (await direct.run(conn, PREPARED_COUNT, since)).all()
            assert [tuple(r) for r in got_counts] == [("g1", 5), ("g2", 1)]
            assert got_counts == [tuple(r) for r in (await conn.execute(counted(), since)).all()]
            res = await direct.run(
                conn,
                PREPARED_UPDATE,
                [
                    {"pk_g": "g1", "pk_u": "u1", "messages": 7, "last_active_at": NOW},
                    {"pk_g": "g2", "pk_u": "u1", "messages": 8, "last_active_at": NOW},
                ],
            )
            assert res.rowcount == (2 if db.dialect == "sqlite" else -1)  # (asyncpg's many: -1)
        async with db.read() as s:  # committed with the session's transaction
            got_m = await s.execute(select(M.c.user_id, M.c.messages).where(M.c.messages > 0))
            assert sorted(got_m.all()) == [("u1", 7), ("u1", 8)]
    finally:
        await db.dispose()


async def test_json_and_dates_are_written_as_sqlalchemy_writes_them(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        row = dict(
            dedup_key="k1",
            platform="console",
            kind="message",
            group_id=None,
            payload={"text": "二", "n": [1, None]},
            next_attempt_at=NOW,
            received_at=NOW,
        )  # status, attempts and last_error from the columns' defaults
        async with db.transaction() as s:
            await direct.run(await s.connection(), PREPARED_INBOX, row)
            s.add(Checkin(group_id="g", user_id="u", day=date(2026, 11, 18), at=NOW))
        async with db.read() as s:
            got = (await s.execute(select(InboxEvent))).scalar_one()
            assert got.payload == {"text": "二", "n": [1, None]}
            assert (got.status, got.attempts, got.last_error) == ("queued", 0, "")
            assert got.received_at == NOW and got.group_id is None
    finally:
        await db.dispose()


async def test_listeners_see_it_and_a_conflict_is_an_integrity_error(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    seen: list[str] = []

    def listen(_c: Any, _cur: Any, sql: str, *_a: Any) -> None:
        seen.append(sql.split()[0].upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", listen)
    try:
        with pytest.raises(IntegrityError):
            async with db.transaction() as s:
                conn = await s.connection()
                await direct.run(conn, PREPARED_INSERT, [member("g1", "u1")])
                assert (await direct.run(conn, PREPARED_KEYS, {"g": ["g1"], "u": ["u1"]})).first()
                await direct.run(conn, PREPARED_INSERT, [member("g1", "u1")])
        assert seen.count("INSERT") == 2 and "SELECT" in seen
        async with db.read() as s:  # the failed transaction left nothing
            assert (await s.execute(select(func.count()).select_from(M))).scalar() == 0
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", listen)
        await db.dispose()


async def test_a_statement_not_prepared_runs_through_sqlalchemy(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        async with db.transaction() as s:
            conn = await s.connection()
            await direct.run(conn, insert(M), [member("g1", "u1")])
            res = await direct.run(conn, by_keys(), {"g": ["g1"], "u": ["u1"]})
            assert type(res) is not direct.Result
            assert res.mappings().first()["user_id"] == "u1"
    finally:
        await db.dispose()


def not_in() -> Any:
    return (
        select(M.c.user_id)
        .where(M.c.user_id.not_in(bindparam("u", expanding=True)), M.c.group_id == bindparam("g"))
        .order_by(M.c.user_id)
    )


PREPARED_NOT_IN = direct.prepared(not_in())
PREPARED_MARK = direct.prepared(
    update(M).where(M.c.user_id.in_(bindparam("u", expanding=True))).values(messages=3)
)


async def test_not_in_lists_and_rowcounts_answer_as_sqlalchemy(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    try:
        async with db.transaction() as s:
            conn = await s.connection()
            await direct.run(conn, PREPARED_INSERT, [member("g1", f"u{i}") for i in range(4)])
            for u in (["u1", "u3"], [], ["u9"]):
                got = (await direct.run(conn, PREPARED_NOT_IN, {"u": u, "g": "g1"})).all()
                want = (await conn.execute(not_in(), {"u": u, "g": "g1"})).all()
                assert [tuple(r) for r in got] == [tuple(r) for r in want]
            res = await direct.run(conn, PREPARED_MARK, {"u": ["u0", "u2", "u7"]})
            assert res.rowcount == 2
            assert (await direct.run(conn, PREPARED_MARK, {"u": []})).rowcount == 0
    finally:
        await db.dispose()


async def test_an_autocommit_statement_is_committed_on_its_own(tmp_path: Path) -> None:
    db = await _db(tmp_path)
    if db.dialect != "postgresql":
        await db.dispose()
        pytest.skip("PostgreSQL only (SQLite writes go through its write lock)")
    try:
        async with db.transaction() as s:
            await direct.run(await s.connection(), PREPARED_INSERT, [member("g1", "u1")])
        with pytest.raises(RuntimeError):
            async with db.autocommit() as conn:
                assert (await direct.run(conn, PREPARED_MARK, {"u": ["u1"]})).rowcount == 1
                raise RuntimeError("after the statement")
        async with db.read() as s:  # committed when the statement returned
            assert (await s.execute(select(M.c.messages))).scalar() == 3
        with pytest.raises(IntegrityError):
            async with db.autocommit() as conn:
                await direct.run(conn, PREPARED_INSERT, [member("g1", "u1")])
        async with db.autocommit() as conn:  # the pooled connection is fine afterwards
            assert (await direct.run(conn, PREPARED_KEYS, {"g": ["g1"], "u": ["u1"]})).first()
    finally:
        await db.dispose()
