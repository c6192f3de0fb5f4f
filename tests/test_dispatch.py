"""Dispatch-level tests: commands, permissions, tracking, retries, idempotency."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.commands import Role
from bot.dispatch.context import Context
from bot.dispatch.router import STOP, Router, group_only
from bot.events import MessageReceived, Scheduled
from storage.models import InboxEvent, Member, OutboxMessage
from tests.harness import Harness


async def test_help_lists_member_commands_only_for_members(harness: Harness) -> None:
    said = await harness.say("bob", "/帮助")
    assert len(said) == 1 and "/帮助" in said[0]
    said_admin = await harness.say("gadmin", "/help")
    assert said_admin[0].startswith("[g1]")


async def test_fullwidth_prefix_alias_and_mention_are_understood(harness: Harness) -> None:
    assert "可用指令" in (await harness.say("bob", "／帮助"))[0]
    assert "可用指令" in (await harness.say("bob", "@群助手 /help"))[0]
    assert "可用指令" in (await harness.say("bob", "/HELP"))[0]


async def test_unknown_command_gets_hint(harness: Harness) -> None:
    said = await harness.say("bob", "/不存在的指令 123")
    assert said == ["[g1] 🤖 没有 /不存在的指令 这个指令，发送 /帮助 查看可用指令。"]


async def test_plain_text_gets_no_reply(harness: Harness) -> None:
    assert await harness.say("bob", "大家好") == []
    assert await harness.say("bob", "/") == []


async def _count(h: Harness, model: Any, *where: Any) -> int:
    async with h.bot.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_member_rows_track_join_leave_and_speech(harness: Harness) -> None:
    await harness.join("carol")
    await harness.say("carol", "hi", name="卡罗")
    await harness.leave("carol")
    async with harness.bot.db.read() as s:
        m = await s.get(Member, ("g1", "carol"))
    assert m is not None and not m.in_group and m.join_count == 1 and m.name == "卡罗"
    assert m.messages == 1 and m.left_at is not None


async def test_same_event_three_times_has_one_effect(harness: Harness) -> None:
    ev = MessageReceived(
        dedup_key="dup-1",
        platform="console",
        group_id="g1",
        occurred_at=harness.clock.now(),
        user_id="bob",
        text="/帮助",
    )
    results = [await harness.bot.inbox.submit(ev) for _ in range(3)]
    assert [r.new for r in results] == [True, False, False]
    await harness.bot.drain()
    assert await _count(harness, InboxEvent, InboxEvent.dedup_key == "dup-1") == 1
    assert await _count(harness, OutboxMessage) == 1


def _admin_router(calls: list[str]) -> Router:
    r = Router("t")

    @r.command("清理", "purge", help="管理指令", role=Role.ADMIN)
    async def purge(ctx: Context) -> None:
        calls.append(ctx.user_id)
        await ctx.reply("done")

    return r


async def test_admin_command_refused_for_members(harness: Harness) -> None:
    calls: list[str] = []
    router = _admin_router(calls)
    harness.bot.services.routers.append(router)
    harness.bot.services.registry.add(router.commands[0])
    said = await harness.say("bob", "/清理")
    assert "只有管理员可以使用" in said[0] and calls == []
    assert (await harness.say("gadmin", "/purge")) == ["[g1] 🤖 done"]
    assert (await harness.say("root", "/purge")) == ["[g1] 🤖 done"]
    assert (await harness.say("x", "/purge", role="owner")) == ["[g1] 🤖 done"]
    assert (await harness.say("y", "/purge", role="admin")) == ["[g1] 🤖 done"]
    assert calls == ["gadmin", "root", "x", "y"]
    # help shows it to admins, not to members
    assert "/清理" not in (await harness.say("bob", "/帮助"))[0]
    assert "/清理" in (await harness.say("gadmin", "/帮助"))[0]


async def test_failing_handler_rolls_back_and_retries_then_fails_visibly(harness: Harness) -> None:
    r = Router("boom")
    attempts: list[int] = []

    @r.on(MessageReceived)
    async def boom(ctx: Context) -> None:
        attempts.append(1)
        await ctx.reply("half-done")  # must be rolled back with the error
        raise RuntimeError("kaput")

    harness.bot.services.routers.insert(0, r)
    said = await harness.say("bob", "hello")
    assert said == []
    for _ in range(10):
        await harness.advance(minutes=10)
    async with harness.bot.db.read() as s:
        row = (await s.scalars(select(InboxEvent).where(InboxEvent.platform == "console"))).one()
    assert row.status == "failed" and "kaput" in row.last_error
    assert row.attempts == harness.bot.dispatcher.max_attempts
    assert await _count(harness, OutboxMessage) == 0


async def test_stop_halts_later_handlers(harness: Harness) -> None:
    r = Router("gate")

    @r.on(MessageReceived)
    async def gate(ctx: Context) -> object:
        await ctx.reply("stopped")
        return STOP

    harness.bot.services.routers.insert(0, r)
    assert await harness.say("bob", "/帮助") == ["[g1] 🤖 stopped"]


async def test_private_command_in_group_only_feature(harness: Harness) -> None:
    r = Router("grp")

    @r.command("群指令", help="只在群里")
    async def grp(ctx: Context) -> None:
        await ctx.reply("ok")

    harness.bot.services.routers.append(r)
    harness.bot.services.registry.add(r.commands[0])
    said = await harness.say("bob", "/群指令", group=None)
    assert "需要在群里使用" in said[0]


async def test_a_job_handler_sees_its_own_jobs_events_only(harness: Harness) -> None:
    r = Router("jobs")
    seen: list[tuple[str, Any]] = []

    @r.job("t.mine", group_only)
    async def mine(ctx: Context, ev: Scheduled) -> None:
        seen.append((ev.job, ev.data.get("n")))

    harness.bot.services.routers.insert(0, r)
    now = harness.clock.now()
    for key, job, gid in [
        ("k1", "t.mine", "g1"),
        ("k2", "t.other", "g1"),
        ("k3", "t.mine", None),  # filtered out by group_only
        ("k4", "t.mine", "g1"),
    ]:
        ev = Scheduled(
            dedup_key=key,
            platform="internal",
            group_id=gid,
            occurred_at=now,
            job=job,
            data={"n": key},
        )
        await harness.bot.inbox.submit(ev)
    await harness.say("bob", "hello")  # not a Scheduled event: never reaches the handler
    await harness.bot.drain()
    assert seen == [("t.mine", "k1"), ("t.mine", "k4")]
