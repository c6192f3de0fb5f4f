"""The rules of a broadcast (群发), as pure functions.

Rules:
- A request names its groups by ``targets``: ``"all"``, ``"tag:<tag>"`` or ``"group:<id>"``
  (at least one, at most ``MAX_TARGETS``), and exactly one of ``text`` or ``markdown``: a
  non-empty template of at most ``templates.MAX_OUTPUT`` characters whose only placeholders
  are ``VARIABLES`` (``{group}``, ``{group_id}``, ``{bot}``, ``{date}``, ``{weekday}``;
  ``{{``/``}}`` are braces). Anything else is refused naming the field, and nothing is stored.
- ``image`` (optional): an ``https://`` URL of at most ``MAX_IMAGE_URL`` characters, without
  ``user:password@``, whose host is a DNS name (not an IP literal in any spelling: its last
  label must be letters). It goes after the text (a caption, its own part) or alone. The bot
  never fetches it: OneBot's bridge, WeCom (a news card) or the group owner does.
- ``official`` (optional, false): customer groups without a robot get it as 企业群发 (one
  task per owner, so ``{group}``/``{group_id}`` are refused), else as staff reminders.
- ``at`` (optional) is an ISO 8601 time with its UTC offset. Up to ``LATE_GRACE`` in the past
  means "now"; further back is refused (a mistyped date must not send at once), and so is more
  than ``MAX_AHEAD`` ahead.
- Each group gets the template filled with its own values. ``{group}`` needs the group's name:
  a group without one fails alone (its members would otherwise read an id).
- A group's state in the report: ``scheduled`` until it is queued, then what its outbox rows
  say — ``sent`` when every part went, ``dead`` when one was given up (the reason), ``failed``
  while a part waits for a retry after an error (the error), ``cancelled`` when taken back,
  else ``queued``; ``failed`` with the reason also when it could not be queued at all (its
  template, or the group is inactive). ``unknown`` when the outbox rows were pruned by age.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bot import templates

VARIABLES = ("group", "group_id", "bot", "date", "weekday")
PER_GROUP = frozenset({"group", "group_id"})
MAX_TARGETS = 1000
LATE_GRACE = timedelta(minutes=5)
MAX_AHEAD = timedelta(days=366)
CN_WEEKDAY = "一二三四五六日"
MAX_IMAGE_URL = 1000
TLD_RE = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
STATES = ("scheduled", "queued", "sent", "failed", "dead", "cancelled")


class BadInput(ValueError):
    """A request that cannot be taken; ``field`` names the part that is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class RenderError(ValueError):
    """The template cannot be filled for one group (the message says why)."""


@dataclass(frozen=True, slots=True)
class Request:
    targets: tuple[str, ...]
    action: str  # text | markdown | image (an image alone: text is "")
    text: str
    at: datetime | None  # None: now
    official: bool = False  # customer groups without a robot: 企业群发, not staff reminders
    image: str = ""  # an https URL sent after the text; never fetched by the bot


def fingerprint(data: Mapping[str, Any]) -> str:
    """Equal for equal request bodies (an ``Idempotency-Key`` reused for another body is
    refused). The body as sent, so a retry matches however the clock moved meanwhile."""
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def parse_target(spec: object, field: str) -> tuple[str, str]:
    """("all", "") | ("tag", tag) | ("group", gid), or BadInput naming ``field``."""
    if not isinstance(spec, str) or not spec.strip():
        raise BadInput(field, 'must be "all", "tag:<tag>" or "group:<group id>"')
    spec = spec.strip()
    if spec == "all":
        return "all", ""
    kind, sep, value = spec.partition(":")
    if sep and kind in ("tag", "group") and value.strip():
        return kind, value.strip()
    raise BadInput(field, f'unknown target {spec[:80]!r}: use "all", "tag:<tag>" or "group:<id>"')


def parse_request(data: Mapping[str, Any], now: datetime) -> Request:
    """A broadcast request from its JSON body (BadInput names the first wrong field)."""
    targets = data.get("targets")
    if not isinstance(targets, list) or not targets:
        raise BadInput("targets", "must be a non-empty list")
    if len(targets) > MAX_TARGETS:
        raise BadInput("targets", f"at most {MAX_TARGETS} targets")
    for i, spec in enumerate(targets):
        parse_target(spec, f"targets[{i}]")
    image = parse_image(data["image"]) if "image" in data else ""
    given = [k for k in ("text", "markdown") if k in data]
    if image and not given:
        return Request(
            _unique(targets), "image", "", parse_at(data.get("at"), now), _official(data), image
        )
    if len(given) != 1:
        raise BadInput("text", "give exactly one of text or markdown (an image may go alone)")
    field = given[0]
    text = data[field]
    if not isinstance(text, str) or not text.strip():
        raise BadInput(field, "must be a non-empty string")
    if len(text) > templates.MAX_OUTPUT:
        raise BadInput(field, f"is longer than {templates.MAX_OUTPUT} characters")
    try:
        templates.validate(text, VARIABLES)
    except templates.TemplateError as exc:
        raise BadInput(field, str(exc)) from None
    official = _official(data)
    if official and templates.fields(text) & PER_GROUP:
        raise BadInput(
            field,
            "an official broadcast reaches customer groups as one 企业群发 text per owner: "
            "{group} and {group_id} cannot be used",
        )
    return Request(_unique(targets), field, text, parse_at(data.get("at"), now), official, image)


def _unique(targets: list[Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(t).strip() for t in targets))


def _official(data: Mapping[str, Any]) -> bool:
    official = data.get("official", False)
    if not isinstance(official, bool):
        raise BadInput("official", "must be true or false")
    return official


def parse_image(raw: object) -> str:
    """The image's URL as given, or BadInput naming ``image`` (see the module rule)."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadInput("image", "must be an https:// URL")
    url = raw.strip()
    if len(url) > MAX_IMAGE_URL:
        raise BadInput("image", f"is longer than {MAX_IMAGE_URL} characters")
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in url):
        raise BadInput("image", "must not contain spaces, control characters or backslashes")
    try:
        u = urlsplit(url)
        host = (u.hostname or "").rstrip(".")
    except ValueError:
        raise BadInput("image", "is not a URL") from None
    if u.scheme.lower() != "https" or not url.lower().startswith("https://"):
        raise BadInput("image", "must be an https:// URL")
    if "@" in u.netloc:
        raise BadInput("image", "must not carry a user name or password")
    if not host or "." not in host or not TLD_RE.fullmatch(host.rsplit(".", 1)[1]):
        raise BadInput("image", "the host must be a domain name, not an IP address")
    return url


def parse_at(raw: object, now: datetime) -> datetime | None:
    """When to send: None for now (also a time up to ``LATE_GRACE`` ago)."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise BadInput("at", "must be an ISO 8601 time with offset, e.g. 2026-11-20T20:00:00+08:00")
    try:
        at = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadInput("at", f"not an ISO 8601 time: {raw[:40]!r}") from None
    if at.tzinfo is None:
        raise BadInput("at", "needs its UTC offset, e.g. +08:00")
    if at < now - LATE_GRACE:
        raise BadInput("at", "is in the past")
    if at > now + MAX_AHEAD:
        raise BadInput("at", "is more than a year ahead")
    return None if at <= now else at


def values_for(name: str, gid: str, bot_name: str, local_now: datetime) -> dict[str, str]:
    """What the placeholders stand for in one group (``group`` left out when it has no
    name)."""
    out = {
        "group_id": gid,
        "bot": bot_name,
        "date": local_now.strftime("%m月%d日"),
        "weekday": "周" + CN_WEEKDAY[local_now.weekday()],
    }
    if name:
        out["group"] = name
    return out


def render(text: str, values: Mapping[str, str]) -> str:
    """The template filled for one group; RenderError when a placeholder has no value."""
    try:
        missing = templates.fields(text) - values.keys()
    except templates.TemplateError as exc:
        raise RenderError(str(exc)) from None
    if missing:
        name = sorted(missing)[0]
        why = "the group has no name" if name == "group" else "no value in this group"
        raise RenderError(f"{{{name}}}: {why}")
    out = templates.fill(text, values)
    if not out.strip():
        raise RenderError("the text is empty in this group")
    return out


@dataclass(frozen=True, slots=True)
class Part:
    """One outbox row of a group's message, as the delivery worker left it."""

    status: str  # queued | sent | dead | cancelled
    attempts: int
    last_error: str
    kind: str = "text"  # text | image


@dataclass(frozen=True, slots=True)
class Outcome:
    """A group's line in the report; ``open`` while its message may still go out."""

    state: str
    reason: str = ""
    open: bool = False


def delivery_state(stored: str, reason: str, parts: Sequence[Part]) -> Outcome:
    """A group's outcome from its own row and its outbox rows."""
    if stored != "queued":
        return Outcome(stored, reason, stored == "scheduled")
    if not parts:  # sent or given up long ago: the outbox keeps finished rows for a while
        return Outcome("unknown", "outbox rows removed after [retention] outbox_days")
    waiting = any(p.status == "queued" for p in parts)
    for p in parts:
        if p.status == "dead":
            return Outcome("dead", p.last_error, waiting)
    statuses = {p.status for p in parts}
    if "cancelled" in statuses:
        sent = sum(p.status == "sent" for p in parts)
        return Outcome(
            "cancelled", f"{sent} of {len(parts)} parts had gone" if sent else "", waiting
        )
    if statuses == {"sent"}:
        return Outcome("sent")
    for p in parts:
        if p.status == "queued" and p.attempts > 0:
            return Outcome("failed", p.last_error or "will be retried", True)
    return Outcome("queued", "", True)


CUSTOMER_OPEN = frozenset({"pending", "tasked", "waiting_owner", "reminder_queued"})


def customer_outcome(channel: str, state: str, reason: str) -> Outcome:
    """A customer group's outcome (handlers.groupmsg): ``waiting_owner`` until the owner
    sends the 企业群发, then ``sent`` | ``not_sent`` | ``already_received`` | ``failed``;
    a staff reminder is ``reminder_queued`` → ``reminded`` (or ``reminder_failed``)."""
    shown = "waiting_owner" if state in ("pending", "tasked") else state
    return Outcome(shown, reason, state in CUSTOMER_OPEN)


def overall(status: str, outcomes: Sequence[Outcome]) -> str:
    """The broadcast's status: ``scheduled`` before its time, ``cancelled``, ``sending``
    while a group's message may still go, ``done`` when none can."""
    if status in ("scheduled", "cancelled") and not any(
        o.open and o.state != "scheduled" for o in outcomes
    ):
        return status
    return "sending" if any(o.open for o in outcomes) else "done"


def counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """How many groups are in each state (every state named, zeros included)."""
    out = dict.fromkeys(STATES, 0)
    for o in outcomes:
        out[o.state] = out.get(o.state, 0) + 1
    return out
