"""OneBot v11 HTTP POST events → our events (pure; no I/O).

Rules:
- With a secret configured, ``X-Signature: sha1=<hex>`` must be the HMAC-SHA1 of the raw body,
  compared in constant time: missing → 401, wrong → 403. Checked before the JSON is parsed.
- Bodies over 64 KiB → 413; not JSON, not UTF-8, nested deeper than ``base.MAX_DEPTH``, or not
  an object → 400; a content type other than JSON → 415.
- Meta events (heartbeat, lifecycle) are not events for us: ``parse`` returns None.
- A message from an anonymous sender (``sub_type`` anonymous) is an UnknownEvent: all of them
  share one user id, so no member feature (check-ins, invites, warnings) may see it.
- Dedup key: message ids plus time for messages; a hash of the canonical body for notices.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from bot.adapters.base import AdapterError, Request, check_json_depth, clean_tree, kept, obj
from bot.events import Event, Image, MemberJoined, MemberLeft, MessageReceived, UnknownEvent, utc

MAX_BODY = 64 * 1024
_CQ = re.compile(r"\[CQ:([a-z_]+)((?:,[^\]]*)?)\]")


def check_signature(secret: str, req: Request) -> None:
    if not secret:
        return
    sig = req.headers.get("X-Signature") or req.headers.get("x-signature") or ""
    if not sig:
        raise AdapterError(401, "missing X-Signature")
    want = "sha1=" + hmac.new(secret.encode(), req.body, hashlib.sha1).hexdigest()
    if not hmac.compare_digest(sig.strip().lower().encode(), want.encode()):
        raise AdapterError(403, "bad X-Signature")


def sign(secret: str, body: bytes) -> str:
    """The ``X-Signature`` header value a bridge would send (tests, benchmarks)."""
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def _unescape(s: str) -> str:
    return s.replace("&#91;", "[").replace("&#93;", "]").replace("&#44;", ",").replace("&amp;", "&")


def segments(message: Any) -> list[dict[str, Any]]:
    """The message as a segment list, whether it came as an array or a CQ-code string."""
    if isinstance(message, list):
        return [s for s in message if isinstance(s, dict)]
    if not isinstance(message, str):
        return []
    out: list[dict[str, Any]] = []
    pos = 0
    for m in _CQ.finditer(message):
        if m.start() > pos:
            out.append({"type": "text", "data": {"text": _unescape(message[pos : m.start()])}})
        data = {}
        for part in m.group(2).split(",")[1:]:
            k, _, v = part.partition("=")
            data[k] = _unescape(v)
        out.append({"type": m.group(1), "data": data})
        pos = m.end()
    if pos < len(message):
        out.append({"type": "text", "data": {"text": _unescape(message[pos:])}})
    return out


def _message(body: dict[str, Any], now: float) -> MessageReceived:
    self_id = str(body.get("self_id", ""))
    texts: list[str] = []
    mentions: list[str] = []
    images: list[Image] = []
    attachments: list[str] = []
    to_bot = False
    for seg in segments(body.get("message")):
        kind = str(seg.get("type", ""))
        data = obj(seg.get("data"))
        if kind == "text":
            texts.append(str(data.get("text", "")))
        elif kind == "at":
            qq = str(data.get("qq", ""))
            if qq and qq == self_id:
                to_bot = True
            elif qq:
                mentions.append(qq)
        elif kind == "image":
            images.append(Image(url=str(data.get("url", "")), file=str(data.get("file", ""))))
        elif kind in ("share", "json", "xml", "contact", "music", "location"):
            attachments.append({"share": "link", "json": "card", "xml": "card"}.get(kind, kind))
        elif kind == "file":
            attachments.append("file")
    sender = obj(body.get("sender"))
    group = body.get("group_id")
    gid = str(group) if body.get("message_type") == "group" and group is not None else None
    user = str(body.get("user_id", ""))
    ts = _time(body, now)
    return MessageReceived(
        dedup_key=f"onebot:{self_id}:msg:{gid or 'p'}:{user}:{body.get('message_id')}:{ts:.0f}",
        platform="onebot",
        group_id=gid,
        occurred_at=utc(ts),
        user_id=user,
        user_name=str(sender.get("card") or sender.get("nickname") or ""),
        text="".join(texts).strip(),
        message_id=str(body.get("message_id", "")),
        sender_role=str(sender.get("role", "")),
        mentions=tuple(mentions),
        images=tuple(images),
        attachments=tuple(attachments),
        to_bot=to_bot,
        self_id=self_id,
    )


def _time(body: dict[str, Any], now: float) -> float:
    t = body.get("time")
    return float(t) if isinstance(t, int | float) and 0 < t < 1e10 else now


def _digest(body: dict[str, Any]) -> str:
    canon = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def _notice(body: dict[str, Any], now: float) -> Event:
    kind = body.get("notice_type")
    self_id = str(body.get("self_id", ""))
    gid = str(body.get("group_id", "")) or None
    key = f"onebot:{self_id}:notice:{_digest(body)}"
    at = utc(_time(body, now))
    user = str(body.get("user_id", ""))
    operator = str(body.get("operator_id", "") or "")
    if kind == "group_increase":
        invited = body.get("sub_type") == "invite" and operator and operator != user
        return MemberJoined(
            dedup_key=key,
            platform="onebot",
            group_id=gid,
            occurred_at=at,
            user_id=user,
            inviter_id=operator if invited else "",
            inviter_source="onebot_invite" if invited else "",
            join_scene=str(body.get("sub_type", "")),
            self_id=self_id,
        )
    if kind == "group_decrease":
        return MemberLeft(
            dedup_key=key,
            platform="onebot",
            group_id=gid,
            occurred_at=at,
            user_id=user,
            operator_id=operator,
            kicked=body.get("sub_type") in ("kick", "kick_me"),
            self_id=self_id,
        )
    return UnknownEvent(key, "onebot", gid, at, name=f"notice:{kind}", raw=kept(body))


def parse(secret: str, req: Request, now: float) -> Event | None:
    """Verify and parse one pushed event; None for meta events (nothing to store)."""
    if len(req.body) > MAX_BODY:
        raise AdapterError(413, "body too large")
    ctype = (req.headers.get("Content-Type") or req.headers.get("content-type") or "").lower()
    if ctype and "json" not in ctype:
        raise AdapterError(415, "content type must be application/json")
    check_signature(secret, req)
    try:
        body = json.loads(req.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # e.g. "[" * 60000
        raise AdapterError(400, "body is not UTF-8 JSON") from exc
    if not isinstance(body, dict):
        raise AdapterError(400, "body must be a JSON object")
    check_json_depth(body)
    body = clean_tree(body)  # lone surrogates ("\ud800") would fail every later encode
    post_type = body.get("post_type")
    if post_type == "meta_event":
        return None
    if post_type in ("message", "message_sent"):
        if body.get("sub_type") == "anonymous" or body.get("anonymous"):
            # every anonymous sender shares one user id (80000000): never a member to credit,
            # count or warn — kept for the record only
            return UnknownEvent(
                f"onebot:anon:{_digest(body)}",
                "onebot",
                str(body.get("group_id", "")) or None,
                utc(_time(body, now)),
                "message:anonymous",
                kept(body),
            )
        if body.get("message_type") not in ("group", "private"):
            return UnknownEvent(
                f"onebot:other:{_digest(body)}",
                "onebot",
                None,
                utc(now),
                "message:other",
                kept(body),
            )
        return _message(body, now)
    if post_type == "notice":
        return _notice(body, now)
    gid = str(body.get("group_id")) if body.get("group_id") is not None else None
    return UnknownEvent(
        f"onebot:other:{_digest(body)}",
        "onebot",
        gid,
        utc(_time(body, now)),
        str(post_type),
        kept(body),
    )
