"""WeCom self-built app callback (encrypted XML) → our events (pure; no I/O).

Rules (PLATFORMS.md §1, §3):
- Size first (> 64 KiB → 413), then DOCTYPE/ENTITY (400) and nesting deeper than
  ``base.MAX_DEPTH`` (400) before any tree is built (outer envelope and decrypted XML), then the
  timestamp (further than ``tolerance_s`` from now → 403; 0 disables), then ``msg_signature``
  = sha1 of the sorted (token, timestamp, nonce, Encrypt), compared in constant time (401).
- Decryption uses wechatpy (AES-256-CBC, PKCS#7 to 32 bytes); the receive id must be ours
  (corp id; "" for aibot) — a mismatch is 401; undecryptable input is 400.
- ``change_external_chat`` becomes GroupChanged (MemChangeList with 0, 1 or many items);
  a text message becomes MessageReceived; anything else an UnknownEvent, stored and ignored
  (one over ``base.UNKNOWN_KEEP_BYTES`` encoded is refused: 413).
- Dedup: MsgId for messages; the sha256 of the decrypted XML for events.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.crypto import PrpCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.utils import WeChatSigner

from bot.adapters.base import (
    AdapterError,
    Request,
    check_xml_depth,
    clean_tree,
    kept,
    reject_entities,
)
from bot.events import Event, GroupChanged, MessageReceived, UnknownEvent, utc

MAX_BODY = 64 * 1024


@dataclass(frozen=True, slots=True)
class WeComKeys:
    token: str
    encoding_aes_key: str
    receive_id: str  # corp_id for the app callback, "" for aibot


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce, encrypt)
    return str(signer.signature)


def _param(req: Request, name: str) -> str:
    value = req.query.get(name)
    if not value:
        raise AdapterError(401, f"missing {name}")
    return value


def check_request(
    keys: WeComKeys, req: Request, encrypt: str, now: float, tolerance_s: int
) -> None:
    """Timestamp window and msg_signature over ``encrypt``."""
    sig = _param(req, "msg_signature")
    ts = _param(req, "timestamp")
    nonce = _param(req, "nonce")
    if tolerance_s > 0:
        try:
            skew = abs(now - int(ts))
        except ValueError as exc:
            raise AdapterError(400, "timestamp is not a number") from exc
        if skew > tolerance_s:
            raise AdapterError(403, "stale or future timestamp")
    want = signature(keys.token, ts, nonce, encrypt)
    if not hmac.compare_digest(sig.lower().encode(), want.encode()):
        raise AdapterError(401, "bad msg_signature")


def decrypt(keys: WeComKeys, encrypt: str) -> str:
    """The plaintext inside ``encrypt`` (receive id checked)."""
    try:
        key = base64.b64decode(keys.encoding_aes_key + "=")
        plain = PrpCrypto(key).decrypt(encrypt, keys.receive_id)
    except InvalidAppIdException as exc:
        raise AdapterError(401, "receive id mismatch") from exc
    except Exception as exc:  # bad base64, bad padding, short buffer, bad UTF-8
        raise AdapterError(400, "cannot decrypt") from exc
    return plain if isinstance(plain, str) else plain.decode("utf-8")


def verify_url(keys: WeComKeys, req: Request, now: float, tolerance_s: int) -> str:
    """GET URL verification → the decrypted echostr (the exact body to answer)."""
    echostr = _param(req, "echostr").replace(" ", "+")
    check_request(keys, req, echostr, now, tolerance_s)
    return decrypt(keys, echostr)


def parse_xml(data: bytes | str) -> dict[str, Any]:
    """A flat dict of an ``<xml>`` document; 400 on anything that is not one."""
    raw = data.encode() if isinstance(data, str) else data
    reject_entities(raw)
    check_xml_depth(raw)
    try:
        doc = xmltodict.parse(raw, disable_entities=True)
    except (ExpatError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise AdapterError(400, "malformed XML") from exc
    xml = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(xml, dict):
        raise AdapterError(400, "not a WeCom XML document")
    cleaned: dict[str, Any] = clean_tree(xml)  # as for JSON (none expected in XML)
    return cleaned


def _items(value: Any) -> tuple[str, ...]:
    """MemChangeList: absent, ``<Item>`` children (one string or a list — xmltodict's shape
    quirk), or the older form of one comma-separated string (``<MemChangeList>a,b</…>``, still in
    SDK fixtures). Both forms give the same ids, in order, without blanks or repeats."""
    if isinstance(value, dict):
        items = value.get("Item")
        if items is None:
            return ()
        if not isinstance(items, list):
            items = [items]
    elif isinstance(value, str):
        items = [value]
    else:
        return ()
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            continue
        for part in item.split(","):
            uid = part.strip()
            if uid and uid not in out:
                out.append(uid)
    return tuple(out)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def to_event(plain: str, now: float) -> Event:
    """Map the decrypted inner XML to our event."""
    inner = parse_xml(plain)
    created = _int(inner.get("CreateTime"), 0)
    at = utc(created if 0 < created < 10**10 else now)
    digest = hashlib.sha256(plain.encode()).hexdigest()
    msg_type = _text(inner.get("MsgType")).lower()
    event = _text(inner.get("Event")).lower()
    if msg_type == "event" and event == "change_external_chat":
        return GroupChanged(
            dedup_key=f"wecom:evt:{digest}",
            platform="wecom",
            group_id=_text(inner.get("ChatId")) or None,
            occurred_at=at,
            change_type=_text(inner.get("ChangeType")),
            update_detail=_text(inner.get("UpdateDetail")),
            join_scene=_text(inner.get("JoinScene")),
            quit_scene=_text(inner.get("QuitScene")),
            member_ids=_items(inner.get("MemChangeList")),
            mem_change_cnt=_int(inner.get("MemChangeCnt")),
            last_mem_ver=_text(inner.get("LastMemVer")),
            cur_mem_ver=_text(inner.get("CurMemVer")),
        )
    if msg_type == "text" and _text(inner.get("MsgId")):
        return MessageReceived(
            dedup_key=f"wecom:msg:{_text(inner.get('MsgId'))}",
            platform="wecom",
            group_id=None,
            occurred_at=at,
            user_id=_text(inner.get("FromUserName")),
            text=_text(inner.get("Content")),
            message_id=_text(inner.get("MsgId")),
        )
    return UnknownEvent(
        f"wecom:evt:{digest}", "wecom", None, at, name=f"{msg_type}:{event}", raw=kept(inner)
    )


def parse_callback(keys: WeComKeys, req: Request, now: float, tolerance_s: int) -> Event:
    """POST: verify, decrypt and parse one callback."""
    if len(req.body) > MAX_BODY:
        raise AdapterError(413, "body too large")
    outer = parse_xml(req.body)
    encrypt = _text(outer.get("Encrypt"))
    if not encrypt:
        raise AdapterError(400, "no Encrypt element")
    check_request(keys, req, encrypt, now, tolerance_s)
    return to_event(decrypt(keys, encrypt), now)
