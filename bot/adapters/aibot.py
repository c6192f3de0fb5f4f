"""WeCom 智能机器人 (aibot) callback: encrypted JSON → our events (pure; no I/O).

Rules (PLATFORMS.md §4.2): the same signature and AES scheme as the app callback with receive
id ""; the POST body is ``{"encrypt": "…"}``. In groups the bot only hears @-mentions; the
mention sits inside the text (``"@群助手 /签到"``) and is stripped here. ``msgid`` is the dedup
key. Replies go to ``response_url`` (once, within an hour) or as a passive encrypted reply.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from wechatpy.crypto import PrpCrypto

from bot.adapters.base import AdapterError, Request, check_json_depth, clean_tree, kept, obj
from bot.adapters.wecom import MAX_BODY, WeComKeys, check_request, decrypt, signature
from bot.events import BotEnteredChat, Event, Image, MessageReceived, UnknownEvent, utc

_LEADING_AT = re.compile(r"^\s*@\S+\s*")


def _load(data: str | bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # "[" * 60000
        raise AdapterError(400, f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise AdapterError(400, f"{what} is not a JSON object")
    check_json_depth(value)
    cleaned: dict[str, Any] = clean_tree(value)  # lone surrogates → U+FFFD
    return cleaned


def strip_at(text: str) -> tuple[str, bool]:
    """Drop a leading ``@Name``; True when there was one."""
    stripped = _LEADING_AT.sub("", text, count=1)
    return stripped.strip(), stripped != text


def to_event(plain: str, now: float) -> Event:
    data = _load(plain, "decrypted message")
    digest = hashlib.sha256(plain.encode()).hexdigest()
    created = data.get("create_time")
    at = utc(created if isinstance(created, int) and 0 < created < 10**10 else now)
    sender = obj(data.get("from"))
    user = str(sender.get("userid", ""))
    group = str(data["chatid"]) if data.get("chattype") == "group" and data.get("chatid") else None
    msgid = str(data.get("msgid", ""))
    kind = data.get("msgtype")
    url = str(data.get("response_url", ""))
    if kind in ("text", "mixed") and msgid:
        texts: list[str] = []
        images: list[Image] = []
        if kind == "text":
            t = data.get("text")
            texts.append(str(t.get("content", "")) if isinstance(t, dict) else "")
        else:
            mixed = obj(data.get("mixed"))
            for item in mixed.get("msg_item") or []:
                if not isinstance(item, dict):
                    continue
                if item.get("msgtype") == "text" and isinstance(item.get("text"), dict):
                    texts.append(str(item["text"].get("content", "")))
                elif item.get("msgtype") == "image" and isinstance(item.get("image"), dict):
                    images.append(Image(url=str(item["image"].get("url", ""))))
        text, to_bot = strip_at(" ".join(t for t in texts if t))
        return MessageReceived(
            dedup_key=f"aibot:msg:{msgid}",
            platform="aibot",
            group_id=group,
            occurred_at=at,
            user_id=user,
            text=text,
            message_id=msgid,
            images=tuple(images),
            to_bot=to_bot or group is None,
            reply_url=url,
        )
    event = obj(data.get("event"))
    if kind == "event" and event.get("eventtype") == "enter_chat":
        return BotEnteredChat(
            dedup_key=f"aibot:evt:{digest}",
            platform="aibot",
            group_id=None,
            occurred_at=at,
            user_id=user,
            reply_url=url,
        )
    name = f"{kind}:{event.get('eventtype', '')}" if kind == "event" else str(kind)
    return UnknownEvent(f"aibot:evt:{digest}", "aibot", group, at, name=name, raw=kept(data))


def parse_callback(keys: WeComKeys, req: Request, now: float, tolerance_s: int) -> Event:
    """POST: verify, decrypt and parse one aibot callback."""
    if len(req.body) > MAX_BODY:
        raise AdapterError(413, "body too large")
    body = _load(req.body, "body")
    encrypt = body.get("encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise AdapterError(400, "no encrypt field")
    check_request(keys, req, encrypt, now, tolerance_s)
    return to_event(decrypt(keys, encrypt), now)


def encrypt_reply(
    keys: WeComKeys, payload: dict[str, Any], nonce: str, timestamp: int
) -> dict[str, Any]:
    """A passive JSON reply: ``{"encrypt","msgsignature","timestamp","nonce"}``."""
    key = base64.b64decode(keys.encoding_aes_key + "=")
    text = json.dumps(payload, ensure_ascii=False)
    enc = PrpCrypto(key).encrypt(text, keys.receive_id)
    enc = enc.decode() if isinstance(enc, bytes) else enc
    return {
        "encrypt": enc,
        "msgsignature": signature(keys.token, str(timestamp), nonce, enc),
        "timestamp": timestamp,
        "nonce": nonce,
    }


def stream_reply(stream_id: str, content: str) -> dict[str, Any]:
    """A finished ``stream`` answer (markdown content)."""
    return {"msgtype": "stream", "stream": {"id": stream_id, "finish": True, "content": content}}
