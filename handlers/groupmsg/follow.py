"""Following the 企业群发 tasks until they settle; reminding and cancelling them.

Rules:
- A ``created`` task is read every ``poll_s`` (and at its reminder time and its window's
  end): ``get_groupmsg_task`` says whether the owner sent it (status 2); once they did,
  ``get_groupmsg_send_result`` gives each group's result: 1 ``sent``, 2 ``failed`` (not
  reachable), 3 ``already_received`` (the group had received another 群发), 0 still open.
- Until the owner sends, the groups are ``waiting_owner``; when the window ends
  (``window_minutes`` after the slot's time) what is still open is ``not_sent`` and the task
  is ``settled`` — as it is once every group has a final result.
- ``remind_groupmsg_send`` is called once, ``remind_before_minutes`` before the window ends,
  while the owner has not sent (recorded before the call: a crash forgets a reminder rather
  than repeat it).
- A cancelled occurrence (``cancel_source``, inside the caller's transaction) marks its open
  items ``cancelled``, takes back its queued staff reminders and flags its tasks; the job
  then calls ``cancel_groupmsg_send`` for a task already created, and a task not yet
  created is never created.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from bot import cancel_queued
from bot.wecom_api import WeComClient, WeComError
from handlers.groupmsg.config import GroupMsgConfig
from storage.models_groupmsg import GroupMsgItem, GroupMsgTask

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot import Bot

log = logging.getLogger("groupbot.groupmsg")
RESULT = {1: "sent", 2: "failed", 3: "already_received"}
FINAL = frozenset({"sent", "failed", "already_received", "not_sent", "cancelled"})
OPEN = ("pending", "tasked", "waiting_owner")


async def cancel_source(session: AsyncSession, source: str) -> int:
    """Cancel what of an occurrence has not gone (see the module rule); returns the items."""
    items = (await session.scalars(select(GroupMsgItem).where(GroupMsgItem.source == source))).all()
    await cancel_queued(session, [f"rm:{i.key}" for i in items if i.channel == "reminder"])
    n = 0
    for i in items:
        if i.state in OPEN:
            i.state, n = "cancelled", n + 1
    await session.execute(
        update(GroupMsgTask)
        .where(
            GroupMsgTask.source == source,
            GroupMsgTask.state.not_in(("settled", "cancelled", "failed")),
        )
        .values(cancel_requested=True)
    )
    return n


async def _pages(c: WeComClient, path: str, body: dict[str, Any], key: str) -> list[Any]:
    out: list[Any] = []
    cursor = ""
    while True:
        data = await c.call(path, {**body, "limit": 1000, "cursor": cursor})
        out += list(data.get(key) or ())
        cursor = str(data.get("next_cursor") or "")
        if not cursor:
            return out


async def _cancel(bot: Bot, c: WeComClient, task: GroupMsgTask, now: datetime) -> None:
    try:
        await c.call("externalcontact/cancel_groupmsg_send", {"msgid": task.msgid})
    except WeComError as exc:
        if exc.retryable:
            return  # asked again next round
        log.warning("groupmsg task %s: cancel refused: %s", task.id, exc)
    async with bot.db.transaction() as s:
        await s.execute(
            update(GroupMsgTask)
            .where(GroupMsgTask.id == task.id)
            .values(state="cancelled", settled_at=now)
        )
        await s.execute(
            update(GroupMsgItem)
            .where(GroupMsgItem.task_id == task.id, GroupMsgItem.state.in_(OPEN))
            .values(state="cancelled")
        )


async def _remind_if_due(
    bot: Bot, c: WeComClient, task: GroupMsgTask, cfg: GroupMsgConfig, now: datetime
) -> datetime | None:
    """Remind the owner when it is time; returns the reminder time still ahead (or None)."""
    if task.reminded_at is not None or not cfg.remind_before_minutes or task.owner_sent:
        return None
    at = task.end_at - timedelta(minutes=cfg.remind_before_minutes)
    if now < at:
        return at
    if now >= task.end_at:
        return None
    async with bot.db.transaction() as s:  # recorded first: at most one reminder
        await s.execute(
            update(GroupMsgTask).where(GroupMsgTask.id == task.id).values(reminded_at=now)
        )
    try:
        await c.call("externalcontact/remind_groupmsg_send", {"msgid": task.msgid})
    except WeComError as exc:
        log.warning("groupmsg task %s: reminder refused: %s", task.id, exc)
    return None


async def check(bot: Bot, c: WeComClient, task: GroupMsgTask, now: datetime) -> None:
    """Read one task's state at WeCom and write it down (see the module rule)."""
    cfg = bot.config.feature(GroupMsgConfig)
    owners = await _pages(
        c, "externalcontact/get_groupmsg_task", {"msgid": task.msgid}, "task_list"
    )
    sent = any(str(t.get("userid")) == task.owner and t.get("status") == 2 for t in owners)
    results: dict[str, int] = {}
    if sent:
        body = {"msgid": task.msgid, "userid": task.owner}
        rows = await _pages(c, "externalcontact/get_groupmsg_send_result", body, "send_list")
        results = {str(r.get("chat_id")): int(r.get("status", 0)) for r in rows}
    task.owner_sent = sent
    remind_at = await _remind_if_due(bot, c, task, cfg, now)
    ended = now >= task.end_at
    async with bot.db.transaction() as s:
        items = (await s.scalars(select(GroupMsgItem).where(GroupMsgItem.task_id == task.id))).all()
        for it in items:
            if it.state in FINAL:
                continue
            got = RESULT.get(results.get(it.group_id, 0))
            it.state = got or ("not_sent" if ended else "waiting_owner")
            if got == "sent":
                it.sent_at = now
        settled = ended or all(it.state in FINAL for it in items)
        nxt = (
            min(
                t
                for t in (now + timedelta(seconds=cfg.poll_s), remind_at, task.end_at)
                if t is not None and t > now
            )
            if not settled
            else now
        )
        await s.execute(
            update(GroupMsgTask)
            .where(GroupMsgTask.id == task.id)
            .values(
                owner_sent=sent,
                next_at=nxt,
                state="settled" if settled else "created",
                settled_at=now if settled else None,
            )
        )


async def follow(bot: Bot, c: WeComClient, now: datetime) -> int:
    """Check, remind or cancel every created task that is due; returns how many."""
    async with bot.db.read() as s:
        due = (
            await s.scalars(
                select(GroupMsgTask)
                .where(
                    GroupMsgTask.state == "created",
                    (GroupMsgTask.next_at <= now) | GroupMsgTask.cancel_requested,
                )
                .order_by(GroupMsgTask.next_at)
                .limit(200)
            )
        ).all()
    for task in due:
        try:
            if task.cancel_requested:
                await _cancel(bot, c, task, now)
            else:
                await check(bot, c, task, now)
        except WeComError as exc:
            log.warning("groupmsg task %s: %s (tried again next round)", task.id, exc)
    return len(due)
