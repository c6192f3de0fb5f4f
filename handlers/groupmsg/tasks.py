"""Making the 企业群发 tasks: one ``add_msg_template`` per (owner, occurrence), at most once.

Rules:
- Gather: an occurrence's pending items are gathered once its newest item is ``gather_s``
  old; each owner's groups become one task row (unique ``(source, owner)``, state
  ``ready``) with the text of the first item. An item whose text differs from its task's
  (another timezone's date, say), or that arrives after its owner's task was made, goes out
  as a staff reminder instead — a task, once made, is never made again.
- Call: a ``ready`` task is claimed (``calling``, conditional UPDATE) in its own commit, then
  WeCom is called outside any transaction, then the ``msgid`` is written in its own commit.
  A definite refusal with a retryable errcode (busy, frequency) makes it ``ready`` again
  after a pause; another refusal makes it ``failed`` and its groups get staff reminders; no
  readable answer (timeout, transport trouble) makes it ``unknown``.
- The crash window: WeCom has no idempotency key, so a task left ``calling`` for
  ``call_lease_s`` (60 s; the process died between WeCom's answer and our record) or ``unknown``
  is looked up before anything else happens: ``get_groupmsg_list_v2`` lists the corp's
  enterprise 群发 since the claim (API-made ones carry no creator), candidates with the same
  text not yet recorded by another task are asked ``get_groupmsg_task``, and the one whose
  sender is this owner is adopted (its ``msgid`` recorded). Only when none is found — the
  list proves it was not created — is the task ``ready`` for a new call.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from bot import queue_app_text, templates
from bot.wecom_api import WeComClient, WeComError
from handlers.groupmsg.config import GroupMsgConfig
from handlers.groupmsg.media import wecom_attachments
from handlers.groupmsg.route import T_REMINDER, reminder_content
from storage.dialect import insert_ignore, rowcount
from storage.models_groupmsg import GroupMsgItem, GroupMsgTask

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot import Bot

log = logging.getLogger("groupbot.groupmsg")
RETRY_S = 60.0
BATCH = 50


async def to_reminders(
    bot: Bot, s: AsyncSession, items: list[GroupMsgItem], reason: str, now: datetime
) -> None:
    """These items go out as staff reminders after all (in the caller's transaction)."""
    for it in items:
        it.channel, it.state, it.reason, it.task_id = "reminder", "reminder", reason[:256], None
        local = it.due_at.astimezone(bot.config.timezone(it.group_id)).strftime("%m-%d %H:%M")
        g = bot.config.group(it.group_id)
        body = templates.render(
            bot.config,
            T_REMINDER,
            it.group_id,
            time=local,
            group=g.name if g and g.name else it.group_id,
            theme="群消息",
            content=reminder_content(it.text, list(it.attachments or ())),
            bot=bot.config.bot.name,
        )
        await queue_app_text(
            s, now=now, user_id=it.owner, text=body, group_id=it.group_id, idem_key=f"rm:{it.key}"
        )


async def gather(bot: Bot, now: datetime) -> int:
    """Turn the pending items of settled occurrences into tasks; returns tasks made."""
    cfg = bot.config.feature(GroupMsgConfig)
    cutoff = now - timedelta(seconds=cfg.gather_s)
    made = 0
    async with bot.db.transaction() as s:
        sources = (
            await s.scalars(
                select(GroupMsgItem.source)
                .where(GroupMsgItem.state == "pending")
                .group_by(GroupMsgItem.source)
                .having(func.max(GroupMsgItem.created_at) <= cutoff)
                .having(func.max(GroupMsgItem.due_at) <= now)
                .limit(BATCH)
            )
        ).all()
        if not sources:
            return 0
        items = (
            await s.scalars(
                select(GroupMsgItem)
                .where(GroupMsgItem.source.in_(sources), GroupMsgItem.state == "pending")
                .order_by(GroupMsgItem.id)
            )
        ).all()
        by: dict[tuple[str, str], list[GroupMsgItem]] = defaultdict(list)
        for it in items:
            by[(it.source, it.owner)].append(it)
        table = GroupMsgTask.__table__
        for (source, owner), its in by.items():
            same = [i for i in its if i.text == its[0].text]
            row = dict(
                source=source,
                owner=owner,
                state="ready",
                chat_ids=[i.group_id for i in same],
                text=same[0].text,
                attachments=same[0].attachments,
                due_at=min(i.due_at for i in same),
                end_at=min(i.end_at for i in same),
                next_at=now,
            )
            stmt = insert_ignore(s, table, ["source", "owner"]).returning(table.c.id)
            tid = (await s.execute(stmt, [row])).scalar()
            if tid is None:
                await to_reminders(bot, s, its, "arrived after its owner's task was made", now)
                continue
            made += 1
            for i in same:
                i.state, i.task_id = "tasked", tid
            others = [i for i in its if i.text != its[0].text]
            await to_reminders(bot, s, others, "content differs from its owner's task", now)
    return made


async def _claim(bot: Bot, task_id: int, now: datetime, from_state: str) -> bool:
    async with bot.db.transaction() as s:
        res = await s.execute(
            update(GroupMsgTask)
            .where(GroupMsgTask.id == task_id, GroupMsgTask.state == from_state)
            .values(state="calling", claimed_at=now, attempts=GroupMsgTask.attempts + 1)
        )
        return rowcount(res) == 1


async def _record(bot: Bot, task_id: int, **values: Any) -> None:
    async with bot.db.transaction() as s:
        await s.execute(update(GroupMsgTask).where(GroupMsgTask.id == task_id).values(**values))


def template_body(task: GroupMsgTask, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "chat_type": "group",
        "sender": task.owner,
        "chat_id_list": list(task.chat_ids),
        "allow_select": False,
        "text": {"content": task.text},
    }
    if attachments:
        body["attachments"] = attachments
    return body


async def _fail(bot: Bot, task: GroupMsgTask, reason: str, now: datetime) -> None:
    """WeCom refused the task: its groups get staff reminders."""
    async with bot.db.transaction() as s:
        await s.execute(
            update(GroupMsgTask)
            .where(GroupMsgTask.id == task.id)
            .values(state="failed", last_error=reason[:1000], settled_at=now)
        )
        items = (await s.scalars(select(GroupMsgItem).where(GroupMsgItem.task_id == task.id))).all()
        await to_reminders(bot, s, list(items), f"企业群发 refused: {reason}", now)


async def create(
    bot: Bot, c: WeComClient, task: GroupMsgTask, atts: list[dict[str, Any]], now: datetime
) -> None:
    """Call ``add_msg_template`` for a task this caller claimed, and record the outcome."""
    poll = bot.config.feature(GroupMsgConfig).poll_s
    try:
        data = await c.call("externalcontact/add_msg_template", template_body(task, atts))
    except WeComError as exc:
        if exc.errcode == 0:  # no readable answer: it may or may not exist now
            await _record(bot, task.id, state="unknown", last_error=str(exc)[:1000], next_at=now)
        elif exc.retryable:
            later = now + timedelta(seconds=RETRY_S)
            await _record(bot, task.id, state="ready", last_error=str(exc)[:1000], next_at=later)
        else:
            await _fail(bot, task, str(exc), now)
        return
    # WeCom answered: the msgid is written before anything else happens
    msgid = str(data.get("msgid", ""))
    await _created(bot, task.id, msgid, now, poll)
    refused = {str(x) for x in data.get("fail_list") or ()}
    if refused:
        async with bot.db.transaction() as s:
            await s.execute(
                update(GroupMsgItem)
                .where(GroupMsgItem.task_id == task.id, GroupMsgItem.group_id.in_(refused))
                .values(state="failed", reason="in fail_list of add_msg_template")
            )
    log.info("groupmsg task %s (%s, %s): msgid %s", task.id, task.source, task.owner, msgid)


async def call_ready(bot: Bot, c: WeComClient, now: datetime) -> int:
    """Create every ``ready`` task that is due; returns how many calls were made."""
    async with bot.db.read() as s:
        ready = (
            await s.scalars(
                select(GroupMsgTask)
                .where(GroupMsgTask.state == "ready", GroupMsgTask.next_at <= now)
                .order_by(GroupMsgTask.id)
                .limit(BATCH)
            )
        ).all()
    n = 0
    for task in ready:
        if task.cancel_requested:
            await _record(bot, task.id, state="cancelled", settled_at=now)
            continue
        try:  # images uploaded (or found cached) before the claim: they may be done twice
            atts = await wecom_attachments(bot, c, list(task.attachments), now)
        except ValueError as exc:
            await _fail(bot, task, str(exc), now)
            continue
        if await _claim(bot, task.id, now, "ready"):
            n += 1
            await create(bot, c, task, atts, now)
    return n


async def find_created(c: WeComClient, task: GroupMsgTask, known: set[str], now: datetime) -> str:
    """The msgid of a task WeCom made for this task's owner and text since its claim, or ''."""
    since = (task.claimed_at or task.next_at) - timedelta(minutes=5)
    body: dict[str, Any] = {
        "chat_type": "group",
        "start_time": int(since.timestamp()),
        "end_time": int(now.timestamp()) + 60,
        "filter_type": 0,
        "limit": 100,
    }
    cursor = ""
    while True:
        data = await c.call("externalcontact/get_groupmsg_list_v2", {**body, "cursor": cursor})
        for m in data.get("group_msg_list") or ():
            msgid = str(m.get("msgid", ""))
            text = str((m.get("text") or {}).get("content", ""))
            if not msgid or msgid in known or text != task.text:
                continue
            sent = await c.call(
                "externalcontact/get_groupmsg_task", {"msgid": msgid, "limit": 1000}
            )
            if any(str(t.get("userid")) == task.owner for t in sent.get("task_list") or ()):
                return msgid
        cursor = str(data.get("next_cursor") or "")
        if not cursor:
            return ""


async def recover(bot: Bot, c: WeComClient, now: datetime) -> int:
    """Settle ``unknown`` tasks and ``calling`` ones past the lease (see the module rule)."""
    stale = now - timedelta(seconds=bot.config.feature(GroupMsgConfig).call_lease_s)
    async with bot.db.read() as s:
        rows = (
            await s.scalars(
                select(GroupMsgTask).where(
                    (GroupMsgTask.state == "unknown")
                    | ((GroupMsgTask.state == "calling") & (GroupMsgTask.claimed_at <= stale))
                )
            )
        ).all()
        known = set((await s.scalars(select(GroupMsgTask.msgid))).all()) - {""}
    poll = bot.config.feature(GroupMsgConfig).poll_s
    for task in rows:
        msgid = await find_created(c, task, known, now)
        if msgid:
            known.add(msgid)
            log.warning("groupmsg task %s: found at WeCom after a lost answer (%s)", task.id, msgid)
            await _created(bot, task.id, msgid, now, poll)
        else:
            log.warning("groupmsg task %s: not at WeCom, calling again", task.id)
            await _record(bot, task.id, state="ready", next_at=now)
    return len(rows)


async def _created(bot: Bot, task_id: int, msgid: str, now: datetime, poll: float) -> None:
    """WeCom holds the task under ``msgid``: record it and follow it from ``poll`` s on."""
    await _record(
        bot,
        task_id,
        state="created",
        msgid=msgid,
        created_at=now,
        next_at=now + timedelta(seconds=poll),
        last_error="",
    )
