"""The one typed object every handler (and scheduled job) works with.

Rules:
- A Context lives for one unit of work: everything it records (state, outbox rows, audit)
  commits together or not at all.
- Handlers never call HTTP: ``reply``/``send``/``kick`` queue outbox rows.
- Outbox rows made while handling event N get idempotency keys ``evt:N:k``, so a re-run of the
  same event cannot queue a second copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import templates
from bot.commands import Command, Role
from bot.dispatch.batch import Batch
from bot.events import Event, MessageReceived
from bot.inbox import inbox_row
from bot.outbox.queue import enqueue, route
from storage.dialect import insert, insert_ignore
from storage.models import AuditEntry, GroupSetting, InboxEvent, Member

if TYPE_CHECKING:
    from bot.config import Config, S
    from bot.repository import Repository
    from bot.sections import GroupConfig
    from bot.services import Services

R = TypeVar("R", bound="Repository")


@dataclass
class Context:
    services: Services
    session: AsyncSession
    event: Event
    event_id: int | None = None
    command: Command | None = None
    role: Role = Role.MEMBER
    member: Member | None = None
    first_join: bool = False  # a MemberJoined for someone never seen in this group before
    # rows shared with the other events of the dispatcher's batch (immediate when alone)
    batch: Batch = field(default=None)  # type: ignore[assignment]
    _seq: int = field(default=0, repr=False)
    _key_prefix: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.batch is None:
            self.batch = Batch(self.session, deferred=False)

    # --- what the handler reads -------------------------------------------------------------
    @property
    def config(self) -> Config:
        return self.services.config

    @property
    def group_id(self) -> str | None:
        return self.event.group_id

    @property
    def group(self) -> GroupConfig | None:
        return self.config.group(self.group_id)

    @property
    def user_id(self) -> str:
        return str(getattr(self.event, "user_id", ""))

    @property
    def message(self) -> MessageReceived | None:
        return self.event if isinstance(self.event, MessageReceived) else None

    def now(self) -> datetime:
        return self.services.clock.now()

    @property
    def tz(self) -> ZoneInfo:
        return self.config.timezone(self.group_id)

    def local_now(self) -> datetime:
        return self.now().astimezone(self.tz)

    def local_day(self, reset_hour: int = 0, at: datetime | None = None) -> date:
        """The group's calendar day at ``at`` (default now), days starting at ``reset_hour``."""
        local = (at or self.now()).astimezone(self.tz)
        return (local - timedelta(hours=reset_hour)).date()

    def feature(self, section: type[S]) -> S:
        """This group's view of a feature's section: ``ctx.feature(CheckinConfig)``."""
        return self.config.feature(section, self.group_id)

    def repo(self, cls: type[R]) -> R:
        """The unit of work's repository ``cls`` (``ctx.repo(Checkins)``): shared by the events
        of a dispatcher batch, reading and writing at once anywhere else."""
        return cls.shared(self.batch)

    def render(self, key: str, **values: Any) -> str:
        return self.render_for(self.group_id, key, **values)

    def render_for(self, group_id: str | None, key: str, **values: Any) -> str:
        """A template as configured for ``group_id`` (jobs that serve many groups)."""
        g = self.config.group(group_id)
        values.setdefault("group", g.name if g and g.name else (group_id or ""))
        values.setdefault("bot", self.config.bot.name)
        return templates.render(self.config, key, group_id, **values)

    def is_self(self, user_id: str) -> bool:
        """True for the bot's own account (never greeted, counted or moderated)."""
        return bool(user_id) and user_id in self.services.self_ids(self.event)

    # --- what the handler does ----------------------------------------------------------------
    def next_key(self) -> str | None:
        if self._key_prefix:
            self._seq += 1
            return f"{self._key_prefix}:{self._seq}"
        if self.event_id is None:
            return None
        self._seq += 1
        return f"evt:{self.event_id}:{self._seq}"

    async def send(
        self,
        group_id: str | None,
        text: str,
        *,
        markdown: bool = False,
        mentions: tuple[str, ...] = (),
        idem_key: str | None = None,
        platform: str | None = None,
        quote: str = "",
    ) -> None:
        """Post ``text`` into a group; ``quote``: the id of a message it answers (shown as a
        quote where the platform can: OneBot)."""
        channel, target = route(self.config, group_id, platform or self.event.platform)
        payload: dict[str, Any] = {"text": text, "mentions": list(mentions)}
        payload["group_id"] = group_id
        if quote:
            payload["quote"] = quote
        await enqueue(
            self.session,
            now=self.now(),
            channel=channel,
            target=target,
            action="markdown" if markdown else "text",
            payload=payload,
            group_id=group_id,
            idem_key=idem_key or self.next_key(),
            event_id=self.event_id,
            batch=self.batch,
        )

    async def reply(self, text: str, *, markdown: bool = False, mention: bool = False) -> None:
        """Answer where the event came from (the group, or privately)."""
        msg = self.message
        if msg is not None and msg.reply_url:
            await self.reply_aibot(text, msg.reply_url)
            return
        if self.group_id is None:
            await self.send_private(self.user_id, text)
            return
        mentions = (self.user_id,) if mention and self.user_id else ()
        await self.send(self.group_id, text, markdown=markdown, mentions=mentions)

    async def reply_aibot(self, text: str, url: str, *, kind: str = "stream") -> None:
        """An answer to a 智能机器人 callback: held back for ``passive_wait_s`` so the waiting
        callback can return it as its passive reply; otherwise sent to ``url`` (response_url)."""
        hold = timedelta(seconds=self.config.wecom.aibot.passive_wait_s + 1)
        await enqueue(
            self.session,
            now=self.now(),
            channel="aibot",
            target=f"aibot:{self.group_id or self.user_id}",
            action="markdown",
            payload={
                "text": text,
                "url": url,
                "group_id": self.group_id,
                "kind": kind,
                "fallback_key": self.group.webhook_key if self.group else "",
            },
            group_id=self.group_id,
            idem_key=self.next_key(),
            event_id=self.event_id,
            not_before=self.now() + hold,
            batch=self.batch,
        )

    async def send_private(
        self, user_id: str, text: str, *, idem_key: str | None = None, platform: str | None = None
    ) -> None:
        """A private message, on the platform of the current event (or ``platform``)."""
        plat = platform or (self.group.platform if self.group else self.event.platform)
        channel = "onebot" if plat == "onebot" else "console"
        await enqueue(
            self.session,
            now=self.now(),
            channel=channel,
            target=f"{channel}:private:{user_id}",
            action="private_text",
            payload={"text": text, "user_id": user_id, "group_id": self.group_id},
            group_id=self.group_id,
            idem_key=idem_key or self.next_key(),
            event_id=self.event_id,
            batch=self.batch,
        )

    async def act(self, action: str, **params: Any) -> None:
        """A platform action in this group: ``kick`` (user_id) or ``delete`` (message_id)."""
        channel, target = route(self.config, self.group_id, self.event.platform)
        await enqueue(
            self.session,
            now=self.now(),
            channel=channel,
            target=target,
            action=action,
            payload={"group_id": self.group_id, **params},
            group_id=self.group_id,
            idem_key=self.next_key(),
            event_id=self.event_id,
            batch=self.batch,
        )

    async def notify_admins(self, text: str, group_id: str | None = None) -> None:
        """Tell the people who run the group: the alert group if configured, else privately
        to the group's configured admins where the platform allows (on OneBot only the numeric
        ids: a global admin may be a WeCom userid), else the console log."""
        alert = self.config.bot.alert_group
        if alert:
            await self.send(alert, text)
            return
        gid = group_id or self.group_id
        admins = sorted(self.config.group_admins(gid) | set(self.config.bot.admins))
        g = self.config.group(gid)
        plat = g.platform if g else self.event.platform
        if plat == "onebot":  # OneBot user ids are numbers; other admin ids are WeCom's
            admins = [uid for uid in admins if uid.isascii() and uid.isdigit()]
        if plat in ("onebot", "console") and admins:
            for uid in admins:
                await self.send_private(uid, text, platform=plat)
        else:
            await enqueue(
                self.session,
                now=self.now(),
                channel="console",
                target="console:alerts",
                action="text",
                payload={"text": text, "group_id": "alerts"},
                group_id=self.group_id,
                idem_key=self.next_key(),
                event_id=self.event_id,
                batch=self.batch,
            )

    async def emit(self, event: Event) -> bool:
        """Queue a follow-up event (e.g. a member join found by a WeCom sync) in this unit of
        work; its dedup key makes a re-run harmless. True when it was new."""
        stmt = (
            insert_ignore(self.session, InboxEvent, ["dedup_key"])
            .values(inbox_row(event, self.now()))
            .returning(InboxEvent.id)
        )
        self.batch.emitted = True  # the dispatcher looks again right after this batch
        return (await self.session.scalar(stmt)) is not None

    async def audit(
        self, action: str, target_id: str = "", *, by: str | None = None, **detail: Any
    ) -> None:
        """Record an action in the audit log (same transaction); ``by``: who acted when it
        is not the event's sender (a staff member in the console, ``staff:<name>``)."""
        self.session.add(
            AuditEntry(
                group_id=self.group_id,
                actor_id=self.user_id if by is None else by[:128],
                action=action,
                target_id=target_id,
                detail=detail,
                event_id=self.event_id,
                created_at=self.now(),
            )
        )

    async def setting(self, key: str, default: Any = None, group_id: str | None = None) -> Any:
        """A per-group setting changed from chat (of this group, or ``group_id``: a job that
        serves many), or ``default``."""
        gid = group_id or self.group_id
        if gid is None:
            return default
        row = await self.session.get(GroupSetting, (gid, key))
        return default if row is None else row.value

    async def set_setting(self, key: str, value: Any) -> None:
        if self.group_id is None:
            raise ValueError("settings belong to a group")
        row = {"value": value, "updated_by": self.user_id, "updated_at": self.now()}
        stmt = insert(self.session, GroupSetting).values(group_id=self.group_id, key=key, **row)
        stmt = stmt.on_conflict_do_update(index_elements=["group_id", "key"], set_=row)
        await self.session.execute(stmt)

    async def member_name(self, user_id: str) -> str:
        """The name we last saw for a member (or the id)."""
        if self.group_id is None:
            return user_id
        name = await self.session.scalar(
            select(Member.name).where(Member.group_id == self.group_id, Member.user_id == user_id)
        )
        return name or user_id
