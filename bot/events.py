"""Our own immutable event types.

Adapters turn platform requests into these; nothing platform-specific (no wechatpy or OneBot
objects) crosses this line. Every event carries a ``dedup_key``: the same platform event
delivered twice must produce the same key, so the inbox can refuse the second copy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event: where it came from and when it happened (UTC)."""

    kind: ClassVar[str] = "event"
    dedup_key: str
    platform: str  # "wecom" | "aibot" | "onebot" | "console" | "internal"
    group_id: str | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Image:
    """An image attached to a message (proof for 打卡, ad detection)."""

    url: str = ""
    file: str = ""


@dataclass(frozen=True, slots=True)
class MessageReceived(Event):
    """A member said something, in a group (``group_id`` set) or privately."""

    kind: ClassVar[str] = "message"
    user_id: str = ""
    user_name: str = ""
    text: str = ""
    message_id: str = ""
    # platform role of the sender when the platform tells it: "owner" | "admin" | "member" | ""
    sender_role: str = ""
    mentions: tuple[str, ...] = ()  # user ids mentioned, in order ("all" for @all)
    images: tuple[Image, ...] = ()
    # non-text content the platform flagged: "link", "card", "miniprogram", "file", ...
    attachments: tuple[str, ...] = ()
    to_bot: bool = False  # the bot was @-mentioned (already stripped from text)
    reply_url: str = ""  # aibot response_url: usable once, for one hour
    self_id: str = ""  # the bot's own account id on this platform, when known


@dataclass(frozen=True, slots=True)
class MemberJoined(Event):
    """Someone entered a group. ``inviter_id`` is set only when a trusted source names it."""

    kind: ClassVar[str] = "member_joined"
    user_id: str = ""
    user_name: str = ""
    inviter_id: str = ""
    # where attribution came from: "onebot_invite" | "wecom_invitor" | "wecom_state" | ""
    inviter_source: str = ""
    join_scene: str = ""
    state: str = ""  # WeCom join-way state (per-referrer join code)
    self_id: str = ""


@dataclass(frozen=True, slots=True)
class MemberLeft(Event):
    """Someone left a group, by themselves or removed (``kicked``)."""

    kind: ClassVar[str] = "member_left"
    user_id: str = ""
    operator_id: str = ""
    kicked: bool = False
    self_id: str = ""


@dataclass(frozen=True, slots=True)
class GroupChanged(Event):
    """WeCom ``change_external_chat``: a trigger to re-read the customer group."""

    kind: ClassVar[str] = "group_changed"
    change_type: str = ""  # create | update | dismiss
    update_detail: str = ""  # add_member | del_member | change_owner | change_name | change_notice
    join_scene: str = ""
    quit_scene: str = ""
    member_ids: tuple[str, ...] = ()
    mem_change_cnt: int = 0
    last_mem_ver: str = ""
    cur_mem_ver: str = ""


@dataclass(frozen=True, slots=True)
class BotEnteredChat(Event):
    """A user opened a chat with the 智能机器人 (aibot ``enter_chat``)."""

    kind: ClassVar[str] = "bot_entered_chat"
    user_id: str = ""
    reply_url: str = ""


@dataclass(frozen=True, slots=True)
class Scheduled(Event):
    """An internal, scheduled piece of work (programme slot, settlement job)."""

    kind: ClassVar[str] = "scheduled"
    job: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UnknownEvent(Event):
    """Anything we do not understand: stored for the record, otherwise ignored."""

    kind: ClassVar[str] = "unknown"
    name: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        MessageReceived,
        MemberJoined,
        MemberLeft,
        GroupChanged,
        BotEnteredChat,
        Scheduled,
        UnknownEvent,
    )
}


def utc(ts: float | int) -> datetime:
    """A unix timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(ts, tz=UTC)


def _plain(value: Any) -> Any:
    """An item of a tuple field: a dataclass instance (``Image``) as a dict, else itself."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


_FIELDS: dict[type, tuple[str, ...]] = {}


def to_payload(event: Event) -> dict[str, Any]:
    """A JSON-safe dict that :func:`from_payload` turns back into the same event."""
    out: dict[str, Any] = {"kind": event.kind}
    names = _FIELDS.get(type(event))
    if names is None:
        names = _FIELDS[type(event)] = tuple(f.name for f in dataclasses.fields(event))
    for name in names:
        value = getattr(event, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = [_plain(v) for v in value]
        out[name] = value
    return out


def from_payload(payload: dict[str, Any]) -> Event:
    """Rebuild an event stored by :func:`to_payload`."""
    data = dict(payload)
    cls = EVENT_TYPES[data.pop("kind")]
    data["occurred_at"] = datetime.fromisoformat(data["occurred_at"])
    for name in ("mentions", "attachments", "member_ids"):
        if name in data:
            data[name] = tuple(data[name])
    if "images" in data:
        data["images"] = tuple(Image(**i) for i in data["images"])
    return cls(**data)
