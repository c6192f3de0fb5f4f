"""Each customer group's delivery state for an occurrence, read where it lives.

A 企业群发 item's state is kept on the item (written by the follow-up job); a staff
reminder's state is its outbox row's (``rm:{key}``): ``reminder_queued`` while it waits,
``reminded`` once WeCom took the app message, ``reminder_failed`` when it was dead-lettered,
``cancelled`` when taken back. Nothing is copied.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage
from storage.models_groupmsg import GroupMsgItem

REMINDER = {
    "queued": "reminder_queued",
    "sent": "reminded",
    "dead": "reminder_failed",
    "cancelled": "cancelled",
}
STATE_CN = {
    "pending": "待建任务",
    "tasked": "已建任务",
    "waiting_owner": "待群主发送",
    "sent": "已发送",
    "not_sent": "未发送",
    "failed": "发送失败",
    "already_received": "已收到其他群发",
    "cancelled": "已取消",
    "reminder_queued": "待提醒群主",
    "reminded": "已提醒群主",
    "reminder_failed": "提醒失败",
}


async def states_for(session: AsyncSession, keys: Sequence[str]) -> dict[str, tuple[str, str, str]]:
    """(channel, state, reason) per occurrence key that went to a customer group."""
    out: dict[str, tuple[str, str, str]] = {}
    reminders: dict[str, str] = {}
    for i in range(0, len(keys), 500):
        chunk = list(keys[i : i + 500])
        rows = await session.execute(
            select(
                GroupMsgItem.key, GroupMsgItem.channel, GroupMsgItem.state, GroupMsgItem.reason
            ).where(GroupMsgItem.key.in_(chunk))
        )
        for key, channel, state, reason in rows.all():
            out[key] = (channel, state, reason)
            if channel == "reminder":
                reminders[f"rm:{key}"] = key
    rm = list(reminders)
    for i in range(0, len(rm), 500):
        sent = await session.execute(
            select(OutboxMessage.idem_key, OutboxMessage.status).where(
                OutboxMessage.idem_key.in_(rm[i : i + 500])
            )
        )
        for idem, status in sent.all():
            key = reminders[str(idem)]
            channel, _state, reason = out[key]
            out[key] = (channel, REMINDER.get(status, "reminder_queued"), reason)
    return out
