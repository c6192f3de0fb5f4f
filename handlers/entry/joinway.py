"""A campaign's WeCom 加入群聊 code (``[entry.wecom]``, customer groups): made once, kept in
step with the campaign's groups.

Rules:
- The ``entry.wecom`` job (leader only, every ``EVERY_S`` s of monotonic time, only with
  ``[wecom] corp_id`` and ``secret``) makes every WeCom call, outside any event's transaction.
- A campaign without a row gets one (``pending``) in its own commit first; then
  ``add_join_way`` (scene 2, its groups — at most 5 — as ``chat_id_list``,
  ``auto_create_room = 1``, ``room_base_name``, ``room_base_id``, ``state = entry:{id}``). The
  ``config_id`` WeCom answers is committed right away, before anything else can fail, so later
  rounds never make a second code; a crash between WeCom's answer and that commit is the one
  window in which a second code could be made (WeCom has no lookup by state to close it).
- With a ``config_id``, ``get_join_way`` gives the QR code URL (``ready``). When the
  campaign's groups differ from those last sent, ``update_join_way`` sends them again.
- Trouble is recorded on the row (``last_error``); retryable errors are tried again next
  round, others after ``MAX_ATTEMPTS`` rounds mark it ``failed`` (shown on the console).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from bot.wecom_api import WeComClient, WeComError, client_for
from handlers.entry import repo
from handlers.entry.adopt import discover
from handlers.entry.config import Campaign, campaigns
from storage.dialect import insert_ignore
from storage.models_entry import EntryJoinWay

if TYPE_CHECKING:
    from bot import Bot

log = logging.getLogger("groupbot.entry.wecom")
EVERY_S = 10.0
MAX_ATTEMPTS = 5
PATH = "externalcontact/groupchat"


def body(c: Campaign, chat_ids: list[str]) -> dict[str, Any]:
    assert c.wecom is not None
    return {
        "scene": 2,
        "remark": c.wecom.remark or c.title[:30],
        "auto_create_room": 1,
        "room_base_name": c.wecom.room_base_name or c.title[:40],
        "room_base_id": c.wecom.room_base_id,
        "chat_id_list": chat_ids,
        "state": f"entry:{c.id}"[:30],
    }


async def _set(bot: Bot, cid: str, **values: Any) -> None:
    async with bot.db.transaction() as s:
        await s.execute(
            update(EntryJoinWay)
            .where(EntryJoinWay.campaign_id == cid)
            .values(updated_at=bot.clock.now(), **values)
        )


async def keep_one(bot: Bot, client: WeComClient, c: Campaign) -> None:
    async with bot.db.transaction() as s:
        await s.execute(
            insert_ignore(s, EntryJoinWay, ["campaign_id"]).values(
                campaign_id=c.id,
                config_id="",
                chat_ids=[],
                qr_code="",
                status="pending",
                attempts=0,
                last_error="",
                updated_at=bot.clock.now(),
            )
        )
        row = await s.scalar(select(EntryJoinWay).where(EntryJoinWay.campaign_id == c.id))
        chats = (await repo.group_ids(s, c))[-5:]  # the newest five: the first ones are full
    assert row is not None
    if row.status == "failed":
        return
    try:
        if not row.config_id:
            data = await client.call(f"{PATH}/add_join_way", body(c, chats))
            await _set(bot, c.id, config_id=str(data.get("config_id", "")), chat_ids=chats)
            row.config_id, row.chat_ids = str(data.get("config_id", "")), chats
        elif list(row.chat_ids) != chats:
            await client.call(
                f"{PATH}/update_join_way", {"config_id": row.config_id, **body(c, chats)}
            )
            await _set(bot, c.id, chat_ids=chats)
        if row.status != "ready" or list(row.chat_ids) != chats or not row.qr_code:
            data = await client.call(f"{PATH}/get_join_way", {"config_id": row.config_id})
            way = data["join_way"] if isinstance(data.get("join_way"), dict) else {}
            qr = str(way.get("qr_code", ""))
            if not qr:
                raise WeComError(-1, "join way has no qr_code yet", retryable=True)
            await _set(bot, c.id, qr_code=qr, status="ready", attempts=0, last_error="")
    except WeComError as exc:
        attempts = row.attempts + 1
        failed = not exc.retryable and attempts >= MAX_ATTEMPTS
        await _set(
            bot,
            c.id,
            attempts=attempts,
            last_error=str(exc)[:1000],
            status="failed" if failed else row.status,
        )
        log.warning("join way of campaign %s: %s", c.id, exc)


async def round_job(bot: Bot) -> None:
    """``entry.wecom``: each WeCom campaign's code made or kept in step (module rules), and
    the groups WeCom opened for them looked up."""
    wanted = [c for c in campaigns(bot.config) if c.wecom is not None]
    if not wanted or not bot.workers:
        return
    client = client_for(bot)
    if client is None:
        return
    for c in wanted:
        await keep_one(bot, client, c)
    await discover(bot, client)  # the groups WeCom opened (handlers/entry/adopt.py)
