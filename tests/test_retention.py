"""Retention: finished inbox/outbox/audit rows older than ``[retention]`` go in chunks; young
or unfinished rows and the dedup keys a redelivery still needs stay; ``groupbot db prune``."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, insert, select

from bot.adapters.onebot import sign
from bot.events import MessageReceived
from bot.retention import JOB, prune
from bot.sections import RetentionConfig
from bot.web.app import create_app
from handlers.app import main
from storage.migrate import stamp
from storage.models import AuditEntry, InboxEvent, OutboxMessage
from tests.fakes.clock import FakeClock
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
CFG = RetentionConfig(inbox_days=30, outbox_days=30, audit_days=365)


def _inbox(key: str, status: str, at: datetime) -> dict[str, Any]:
    return dict(
        dedup_key=key,
        platform="console",
        kind="message",
        group_id="g1",
        payload={"x": 1},
        status=status,
        attempts=1,
        # a queued row waits for its retry (not run by the test's dispatcher)
        next_attempt_at=at + timedelta(days=400) if status == "queued" else at,
        last_error="",
        received_at=at,
        processed_at=at if status != "queued" else None,
    )


def _outbox(status: str, at: datetime) -> dict[str, Any]:
    return dict(
        idem_key=uuid.uuid4().hex,
        group_id="g1",
        channel="console",
        target="g1",
        action="text",
        payload={"text": "hi"},
        status=status,
        attempts=1,
        next_attempt_at=at,
        last_error="",
        created_at=at,
        sent_at=at if status == "sent" else None,
    )


async def _seed(h: Harness) -> None:
    now = h.clock.now()
    old, young, ancient = now - timedelta(days=31), now - timedelta(days=29), now - timedelta(400)
    async with h.bot.db.transaction() as s:
        await s.execute(
            insert(InboxEvent),
            [
                _inbox("old-done", "done", old),
                _inbox("old-failed", "failed", old),
                _inbox("old-queued", "queued", old),  # waiting for a retry: never pruned
                _inbox("young-done", "done", young),
            ],
        )
        await s.execute(
            insert(OutboxMessage),
            [_outbox(st, old) for st in ("sent", "dead", "cancelled", "queued")]
            + [_outbox("sent", young)],
        )
        await s.execute(
            insert(AuditEntry),
            [
                dict(action="old", detail={}, created_at=ancient),
                dict(action="young", detail={}, created_at=old),
            ],
        )


async def _keys(h: Harness) -> dict[str, list[str]]:
    async with h.bot.db.read() as s:
        seeded = InboxEvent.dedup_key.in_(("old-done", "old-failed", "old-queued", "young-done"))
        inbox = sorted(await s.scalars(select(InboxEvent.dedup_key).where(seeded)))
        outbox = sorted(
            f"{st}:{'old' if c < h.clock.now() - timedelta(days=30) else 'young'}"
            for st, c in await s.execute(select(OutboxMessage.status, OutboxMessage.created_at))
        )
        audit = sorted(await s.scalars(select(AuditEntry.action)))
    return {"inbox": inbox, "outbox": outbox, "audit_log": audit}


async def test_old_finished_rows_go_young_and_unfinished_stay(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await _seed(h)
    dry = await prune(h.bot.db, CFG, h.clock.now(), dry_run=True)
    assert dry == {"inbox": 2, "outbox": 3, "audit_log": 1}
    assert len((await _keys(h))["inbox"]) == 4  # a dry run removes nothing
    assert await prune(h.bot.db, CFG, h.clock.now()) == dry
    assert await _keys(h) == {
        "inbox": ["old-queued", "young-done"],
        "outbox": ["queued:old", "sent:young"],
        "audit_log": ["young"],
    }
    # a second instance running the same prune finds nothing more
    assert await prune(h.bot.db, CFG, h.clock.now()) == {"inbox": 0, "outbox": 0, "audit_log": 0}


async def test_zero_days_keeps_forever(make_harness: MakeHarness) -> None:
    h = await make_harness()
    await _seed(h)
    keep = RetentionConfig(inbox_days=0, outbox_days=0, audit_days=0)
    assert await prune(h.bot.db, keep, h.clock.now()) == {"inbox": 0, "outbox": 0, "audit_log": 0}


async def test_more_rows_than_one_chunk(make_harness: MakeHarness) -> None:
    h = await make_harness()
    old = h.clock.now() - timedelta(days=40)
    async with h.bot.db.transaction() as s:
        await s.execute(insert(InboxEvent), [_inbox(f"k{i}", "done", old) for i in range(2500)])
        await s.execute(insert(InboxEvent), [_inbox("left", "queued", old)])
    assert (await prune(h.bot.db, CFG, h.clock.now()))["inbox"] == 2500
    async with h.bot.db.read() as s:
        keys = await s.scalars(select(InboxEvent.dedup_key).where(InboxEvent.platform == "console"))
        assert list(keys) == ["left"]
    # small chunks too: the loop goes on until a chunk comes back short
    async with h.bot.db.transaction() as s:
        await s.execute(insert(InboxEvent), [_inbox(f"c{i}", "done", old) for i in range(25)])
    assert (await prune(h.bot.db, CFG, h.clock.now(), chunk=10))["inbox"] == 25


async def test_redelivery_inside_kept_window_has_no_second_effect(
    make_harness: MakeHarness,
) -> None:
    h = await make_harness({"retention": {"inbox_days": 3}})
    ev = MessageReceived(
        dedup_key="wire:1",
        platform="console",
        group_id="g1",
        occurred_at=h.clock.now(),
        user_id="bob",
        user_name="bob",
        text="/签到",
        message_id="m1",
    )
    assert "签到成功" in (await h.feed(ev))[0]
    await h.advance(days=2)  # a new check-in day: a lost dedup key would check in again
    await JOB.run(h.bot)  # the periodic prune, as the scheduler leader runs it
    assert (await h.feed(ev)) == []
    await h.advance(days=2)
    await JOB.run(h.bot)
    async with h.bot.db.read() as s:
        kept = await s.scalar(select(func.count()).where(InboxEvent.dedup_key == "wire:1"))
    assert kept == 0


async def test_job_is_registered(make_harness: MakeHarness) -> None:
    h = await make_harness()
    job = h.bot.jobs.get("retention-prune")
    assert job is not None and job.every_s == 3600


def _run(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exc:
        return int(exc.code or 0)


async def test_cli_prints_counts(
    make_harness: MakeHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    h = await make_harness(clock=FakeClock(datetime.now(UTC)))  # the CLI uses the wall clock
    await _seed(h)
    await stamp(h.bot.db)
    cfg = tmp_path / "prune.toml"
    cfg.write_text(f'[storage]\nurl = "{h.bot.config.storage.url}"\n', encoding="utf-8")
    assert await asyncio.to_thread(_run, ["db", "prune", "-c", str(cfg), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "inbox: would remove 2 rows" in out and "audit_log: would remove 1 rows" in out
    assert await asyncio.to_thread(_run, ["db", "prune", "-c", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "inbox: removed 2 rows" in out and "outbox: removed 3 rows" in out
    assert await asyncio.to_thread(_run, ["db", "prune", "-c", str(cfg)]) == 0
    assert "inbox: removed 0 rows" in capsys.readouterr().out


def test_bad_retention_is_refused_with_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[retention]\ninbox_days = -1\n", encoding="utf-8")
    assert _run(["check-config", "-c", str(cfg)]) == 2
    assert "retention.inbox_days" in capsys.readouterr().err


async def test_ignored_notice_keeps_no_payload(
    make_harness: MakeHarness, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    """A signed OneBot notice no feature handles: stored once (a redelivery is a duplicate),
    counted by kind, but without the platform's body."""
    h = await make_harness(
        {
            "onebot": {"secret": "s3", "api_url": "http://127.0.0.1:9"},
            "groups": [{"id": "10001", "platform": "onebot", "name": "QQ群"}],
        }
    )
    client = await aiohttp_client(create_app(h.bot, manage=False))
    notice = {
        "time": 1763431200,
        "self_id": 999,
        "post_type": "notice",
        "notice_type": "group_card",
        "group_id": 10001,
        "user_id": 555,
        "card_new": "x" * 3000,
    }
    raw = json.dumps(notice).encode()
    headers = {"Content-Type": "application/json", "X-Signature": sign("s3", raw)}
    for _ in range(2):  # the bridge redelivers
        assert (await client.post("/onebot", data=raw, headers=headers)).status == 204
    await h.bot.drain()
    async with h.bot.db.read() as s:
        rows = (await s.execute(select(InboxEvent).where(InboxEvent.kind == "unknown"))).all()
    assert len(rows) == 1
    row = rows[0][0]
    assert row.status == "done" and row.payload["raw"] == {}
    assert "x" * 100 not in json.dumps(row.payload)


async def test_ignored_group_keeps_no_payload(
    make_harness: MakeHarness, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    """A message from a group not in [[groups]] (``unknown_groups = "ignore"``): its key is
    kept (a redelivery is a duplicate) but not the member's words."""
    h = await make_harness({"onebot": {"secret": "s3", "api_url": "http://127.0.0.1:9"}})
    client = await aiohttp_client(create_app(h.bot, manage=False))
    message = {
        "time": 1763431200,
        "self_id": 999,
        "post_type": "message",
        "message_type": "group",
        "sub_type": "normal",
        "message_id": 7,
        "group_id": 20002,
        "user_id": 555,
        "message": [{"type": "text", "data": {"text": "我的手机号 13800000000"}}],
        "sender": {"user_id": 555, "nickname": "阿明", "role": "member"},
    }
    raw = json.dumps(message, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-Signature": sign("s3", raw)}
    for _ in range(2):
        assert (await client.post("/onebot", data=raw, headers=headers)).status == 204
    await h.bot.drain()
    async with h.bot.db.read() as s:
        rows = (await s.execute(select(InboxEvent).where(InboxEvent.group_id == "20002"))).all()
    assert len(rows) == 1
    row = rows[0][0]
    assert row.status == "done" and row.kind == "message"
    assert "13800000000" not in json.dumps(row.payload, ensure_ascii=False)
    assert row.payload["text"] == "" and row.payload["user_id"] == ""
