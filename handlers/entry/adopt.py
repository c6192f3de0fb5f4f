"""The groups WeCom opens for a 活码 campaign (``auto_create_room``): found and adopted.

Rules:
- A ``change_external_chat`` ``create`` for a chat the configuration does not list is noted
  (``entry_candidates``, once per chat) while a campaign has ``[entry.wecom]``; the core lets
  that notice through although ``[bot] unknown_groups`` ignores the group (a ``discovers``
  route). Nothing else of such a group is read.
- The ``entry.wecom`` job (leader, outside any transaction) asks WeCom about each pending
  chat once ``[wecom.sync] delay_s`` has passed since its notice (WeCom fills a new group's
  details in after it tells): ``groupchat/get`` (name, owner; 90501 — not a customer
  group — settles it as unrelated). The chat belongs to the first WeCom campaign whose code lists it
  (``get_join_way``'s ``chat_id_list``, read once per round), else to the first whose
  ``room_base_name`` followed by a number from ``room_base_id`` on is the chat's name and one
  of whose groups has the chat's owner (``groupchat/get`` of the campaign's groups). Other
  errors are tried again next round, ``MAX_ATTEMPTS`` times.
- The answer goes into the inbox as one ``entry.adopt`` event keyed by the chat; its handler
  adopts the group (``bot.adopt_group``: once, audited) with the settings of the campaign's
  first configured group with the same owner (else its first group) and the campaign's
  ``tags``, lists it with the campaign's groups (``entry_groups``) and settles the candidate.
  The next round sends the campaign's newest five groups to WeCom (``update_join_way``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from bot import Context, GroupChanged, Scheduled, adopt_group
from bot.wecom_api import WeComClient, WeComError
from handlers.entry.config import Campaign, campaign, campaigns
from handlers.entry.events import router
from handlers.entry.repo import Entries
from storage.models_entry import EntryCandidate, EntryJoinWay

if TYPE_CHECKING:
    from bot import Bot

log = logging.getLogger("groupbot.entry.adopt")
ADOPT_JOB = "entry.adopt"
MAX_ATTEMPTS = 5
PER_ROUND = 20
PATH = "externalcontact/groupchat"
NOT_CUSTOMER_GROUP = 90501


@router.on(GroupChanged, discovers=True)
async def on_created(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, GroupChanged)
    gid = ev.group_id
    if ev.change_type != "create" or ev.platform != "wecom" or not gid:
        return
    if ctx.config.group(gid) is not None:
        return
    if any(c.wecom is not None for c in campaigns(ctx.config)):
        await ctx.repo(Entries).note_candidate(gid, ctx.now())


@router.job(ADOPT_JOB)
async def on_adopt(ctx: Context, ev: Scheduled) -> None:
    chat, cid = str(ev.data.get("chat", "")), str(ev.data.get("campaign", ""))
    name, like = str(ev.data.get("name", "")), str(ev.data.get("like", ""))
    entries = ctx.repo(Entries)
    c = campaign(ctx.config, cid) if cid else None
    if c is None or ctx.config.group(like) is None:
        await entries.settle_candidate(chat, "unrelated", "", ctx.now())
        return
    tags = list(c.tags)
    if await adopt_group(ctx, chat, like, name=name, tags=tags, source=f"entry:{c.id}"):
        await entries.add_opened(chat, c.id, name, ctx.now())
    await entries.settle_candidate(chat, "adopted", c.id, ctx.now())


def numbered(name: str, c: Campaign) -> bool:
    """``name`` is one WeCom gives the campaign's groups: the base name and a number."""
    assert c.wecom is not None
    base = c.wecom.room_base_name or c.title[:40]
    rest = name[len(base) :] if name.startswith(base) else ""
    return rest.isdigit() and int(rest) >= c.wecom.room_base_id


class _Round:
    """What one round learnt from WeCom, asked at most once each."""

    def __init__(self, bot: Bot, client: WeComClient) -> None:
        self.bot, self.client = bot, client
        self.lists: dict[str, list[str]] = {}
        self.owners: dict[str, str] = {}

    async def chat(self, chat_id: str) -> dict[str, Any]:
        data = await self.client.call(f"{PATH}/get", {"chat_id": chat_id})
        chat = data.get("group_chat")
        info = chat if isinstance(chat, dict) else {}
        self.owners[chat_id] = str(info.get("owner", ""))
        return info

    async def owner(self, gid: str) -> str:
        if gid not in self.owners:
            try:
                await self.chat(gid)
            except WeComError as exc:
                if exc.retryable:
                    raise
                self.owners[gid] = ""  # (not a customer group any more: nobody's)
        return self.owners[gid]

    async def listed(self, c: Campaign) -> list[str]:
        if c.id not in self.lists:
            async with self.bot.db.read() as s:
                cfg = await s.scalar(
                    select(EntryJoinWay.config_id).where(EntryJoinWay.campaign_id == c.id)
                )
            ids: list[str] = []
            if cfg:
                data = await self.client.call(f"{PATH}/get_join_way", {"config_id": cfg})
                way = data.get("join_way")
                ids = [str(x) for x in (way or {}).get("chat_id_list") or []]
            self.lists[c.id] = ids
        return self.lists[c.id]

    async def match(self, chat_id: str, info: dict[str, Any]) -> tuple[Campaign, str] | None:
        """The campaign the chat belongs to and the group to take settings from."""
        owner = str(info.get("owner", ""))
        wanted = [c for c in campaigns(self.bot.config) if c.wecom is not None]
        found: Campaign | None = None
        for c in wanted:
            if chat_id in await self.listed(c):
                found = c
                break
        for c in wanted if found is None and owner else ():
            if numbered(str(info.get("name", "")), c) and owner in await self.owners_of(c):
                found = c
                break
        if found is None:
            return None
        owners = await self.owners_of(found)
        return found, found.groups[owners.index(owner)] if owner in owners else found.groups[0]

    async def owners_of(self, c: Campaign) -> list[str]:
        return [await self.owner(g) for g in c.groups]


async def _submit(bot: Bot, chat: str, data: dict[str, Any]) -> None:
    await bot.inbox.submit(
        Scheduled(
            dedup_key=f"entry:adopt:{chat}"[:200],
            platform="internal",
            group_id=None,
            occurred_at=bot.clock.now(),
            job=ADOPT_JOB,
            data={"chat": chat, **data},
        )
    )


async def _failed(bot: Bot, row: EntryCandidate, exc: WeComError) -> None:
    attempts = row.attempts + 1
    status = "failed" if not exc.retryable and attempts >= MAX_ATTEMPTS else row.status
    async with bot.db.transaction() as s:
        await s.execute(
            update(EntryCandidate)
            .where(EntryCandidate.chat_id == row.chat_id, EntryCandidate.status == "pending")
            .values(
                attempts=attempts,
                last_error=str(exc)[:1000],
                status=status,
                updated_at=bot.clock.now(),
            )
        )
    log.warning("created group %s: %s", row.chat_id, exc)


async def discover(bot: Bot, client: WeComClient) -> None:
    """Ask WeCom about the pending candidates and hand each answer to the inbox (module
    rules)."""
    settled = bot.clock.now() - timedelta(seconds=bot.config.wecom.sync.delay_s)
    async with bot.db.read() as s:
        q = select(EntryCandidate).where(
            EntryCandidate.status == "pending", EntryCandidate.seen_at <= settled
        )
        rows = list((await s.scalars(q.order_by(EntryCandidate.seen_at).limit(PER_ROUND))).all())
    if not rows:
        return
    asked = _Round(bot, client)
    for row in rows:
        try:
            info = await asked.chat(row.chat_id)
            found = await asked.match(row.chat_id, info)
        except WeComError as exc:
            if exc.errcode == NOT_CUSTOMER_GROUP:
                await _submit(bot, row.chat_id, {"campaign": "", "name": "", "like": ""})
            else:
                await _failed(bot, row, exc)
            continue
        name = str(info.get("name", ""))
        c, like = found if found is not None else (None, "")
        await _submit(bot, row.chat_id, {"campaign": c.id if c else "", "name": name, "like": like})
