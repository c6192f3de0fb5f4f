"""The sending side of the WeCom callback scheme: requests built exactly as WeCom builds
them. Used by tests, benchmarks and ``check-config``'s self-test round trip."""

from __future__ import annotations

import base64
import json
from typing import Any
from xml.sax.saxutils import escape

from wechatpy.crypto import PrpCrypto

from bot.adapters.wecom import WeComKeys, signature


def encrypt(keys: WeComKeys, plain: str) -> str:
    key = base64.b64decode(keys.encoding_aes_key + "=")
    enc = PrpCrypto(key).encrypt(plain, keys.receive_id)
    return enc.decode() if isinstance(enc, bytes) else str(enc)


def sign_get(keys: WeComKeys, echostr_plain: str, timestamp: int, nonce: str) -> dict[str, str]:
    """The query of a URL-verification GET."""
    echostr = encrypt(keys, echostr_plain)
    ts = str(timestamp)
    return {
        "msg_signature": signature(keys.token, ts, nonce, echostr),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": echostr,
    }


def sign_post_xml(
    keys: WeComKeys, inner_xml: str, timestamp: int, nonce: str, agent_id: str = "1000002"
) -> tuple[dict[str, str], bytes]:
    """(query, body) of an app-callback POST carrying ``inner_xml``."""
    enc = encrypt(keys, inner_xml)
    ts = str(timestamp)
    body = (
        f"<xml><ToUserName><![CDATA[{keys.receive_id}]]></ToUserName>"
        f"<AgentID><![CDATA[{agent_id}]]></AgentID>"
        f"<Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
    )
    query = {
        "msg_signature": signature(keys.token, ts, nonce, enc),
        "timestamp": ts,
        "nonce": nonce,
    }
    return query, body.encode()


def sign_post_aibot(
    keys: WeComKeys, inner: dict[str, Any], timestamp: int, nonce: str
) -> tuple[dict[str, str], bytes]:
    """(query, body) of an aibot POST carrying the JSON ``inner``."""
    enc = encrypt(keys, json.dumps(inner, ensure_ascii=False))
    ts = str(timestamp)
    query = {
        "msg_signature": signature(keys.token, ts, nonce, enc),
        "timestamp": ts,
        "nonce": nonce,
    }
    return query, json.dumps({"encrypt": enc}).encode()


def external_chat_xml(
    chat_id: str,
    change_type: str,
    update_detail: str = "",
    members: tuple[str, ...] = (),
    join_scene: int = 0,
    quit_scene: int = 0,
    last_ver: str = "",
    cur_ver: str = "",
    create_time: int = 1763431200,
    corp_id: str = "wwcorp",
    comma_list: bool = False,
) -> str:
    """A ``change_external_chat`` event as WeCom sends it; ``comma_list`` writes MemChangeList
    in its older form, one comma-separated string instead of ``<Item>`` children."""
    items = "".join(f"<Item><![CDATA[{escape(m)}]]></Item>" for m in members)
    if comma_list:
        items = f"<![CDATA[{escape(','.join(members))}]]>"
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
        "<FromUserName><![CDATA[sys]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_external_chat]]></Event>"
        f"<ChatId><![CDATA[{chat_id}]]></ChatId><ChangeType><![CDATA[{change_type}]]></ChangeType>"
        f"<UpdateDetail><![CDATA[{update_detail}]]></UpdateDetail>"
        f"<JoinScene>{join_scene}</JoinScene><QuitScene>{quit_scene}</QuitScene>"
        f"<MemChangeCnt>{len(members)}</MemChangeCnt>"
        + (f"<MemChangeList>{items}</MemChangeList>" if members else "")
        + f"<LastMemVer><![CDATA[{last_ver}]]></LastMemVer>"
        f"<CurMemVer><![CDATA[{cur_ver}]]></CurMemVer></xml>"
    )


def text_xml(
    to_user: str, from_user: str, content: str, msg_id: int, create_time: int = 1763431200
) -> str:
    """A text message to the app."""
    return (
        f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
        f"<FromUserName><![CDATA[{from_user}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
        "<AgentID>1000002</AgentID></xml>"
    )


def aibot_text(
    chatid: str | None,
    userid: str,
    content: str,
    msgid: str,
    response_url: str = "http://127.0.0.1/cgi-bin/aibot/response?response_code=x",
) -> dict[str, Any]:
    """An aibot text message (group when ``chatid`` is given)."""
    data: dict[str, Any] = {
        "msgid": msgid,
        "aibotid": "AIBOTID",
        "chattype": "group" if chatid else "single",
        "from": {"userid": userid},
        "response_url": response_url,
        "msgtype": "text",
        "text": {"content": content},
    }
    if chatid:
        data["chatid"] = chatid
    return data


def aibot_enter_chat(userid: str, create_time: int = 1763431200) -> dict[str, Any]:
    return {
        "msgid": f"enter-{userid}-{create_time}",
        "create_time": create_time,
        "aibotid": "AIBOTID",
        "from": {"userid": userid},
        "msgtype": "event",
        "event": {"eventtype": "enter_chat"},
    }
