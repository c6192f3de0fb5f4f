"""Property-based fuzzing of the pure adapters and the command parser.

Rules checked:
- The adapters (bot/adapters/{wecom,onebot,aibot}.py) turn any input — random bytes, random
  XML/JSON shaped like the real thing, correctly signed and encrypted payloads of any shape —
  into an Event (or None for OneBot meta events) or raise ``AdapterError`` with a 4xx status.
  Nothing else escapes (an escaping exception would be a 500 and a retry storm).
- Every event an adapter returns survives the inbox round trip
  (``from_payload(json(to_payload(e))) == e``), so a stored event can always be dispatched.
- ``commands.parse`` never raises; a parsed command came from a prefixed line, and a known
  command carries the registry's spec for its name.
Example counts are modest so the suite stays fast.
"""

from __future__ import annotations

import json
import time
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import handlers
from bot.adapters import aibot, onebot, wecom, wecom_sign
from bot.adapters.base import AdapterError, Request
from bot.commands import PREFIXES, parse
from bot.dispatch.router import build_registry
from bot.events import Event, from_payload, to_payload

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP = wecom.WeComKeys("apptoken", AES, "wwcorp")
AIBOT = wecom.WeComKeys("aibottoken", AES[::-1], "")
NOW = 1763431200.0
REGISTRY = build_registry([f.router for f in handlers.FEATURES if f.router is not None])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

WECOM_TAGS = [
    "ToUserName", "FromUserName", "CreateTime", "MsgType", "Event", "ChatId", "ChangeType",
    "UpdateDetail", "JoinScene", "QuitScene", "MemChangeCnt", "MemChangeList", "Item", "MsgId",
    "Content", "CurMemVer", "LastMemVer", "AgentID",
]  # fmt: skip
tag_values = st.one_of(
    st.sampled_from(["event", "text", "change_external_chat", "add_member", "1", "0", ""]),
    st.text(max_size=30),
)


@st.composite
def xml_elements(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(st.sampled_from(WECOM_TAGS))
    if depth < 2 and draw(st.booleans()):
        children = draw(st.lists(xml_elements(depth + 1), max_size=3))
        return f"<{tag}>{''.join(children)}</{tag}>"
    value = draw(tag_values)
    body = f"<![CDATA[{value}]]>" if draw(st.booleans()) and "]]>" not in value else escape(value)
    return f"<{tag}>{body}</{tag}>"


wecom_xml = st.lists(xml_elements(), max_size=8).map(lambda els: f"<xml>{''.join(els)}</xml>")

ONEBOT_KEYS = {
    "post_type": st.sampled_from(["message", "message_sent", "notice", "request", "meta_event"]),
    "message_type": st.sampled_from(["group", "private", "other"]),
    "notice_type": st.sampled_from(["group_increase", "group_decrease", "group_upload"]),
    "sub_type": st.sampled_from(["invite", "approve", "leave", "kick", "kick_me", "normal"]),
    "group_id": json_values,
    "user_id": json_values,
    "operator_id": json_values,
    "self_id": json_values,
    "message_id": json_values,
    "time": json_values,
    "message": st.one_of(
        st.text(max_size=40).map(lambda t: f"[CQ:at,qq=1]{t}[CQ:image,file=a,url=b]"),
        st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["text", "at", "image", "file"])}
            ).flatmap(lambda d: st.just(d) | st.builds(lambda v: {**d, "data": v}, json_values)),
            max_size=4,
        ),
        json_values,
    ),
    "sender": json_values
    | st.fixed_dictionaries({}, optional={"role": json_values, "nickname": json_values}),
}
onebot_bodies = st.fixed_dictionaries({}, optional=ONEBOT_KEYS)

aibot_bodies = st.fixed_dictionaries(
    {},
    optional={
        "msgid": json_values,
        "msgtype": st.sampled_from(["text", "mixed", "event", "image", "stream"]) | json_values,
        "chattype": st.sampled_from(["group", "single"]) | json_values,
        "chatid": json_values,
        "from": json_values | st.fixed_dictionaries({"userid": json_values}),
        "create_time": json_values,
        "response_url": json_values,
        "text": json_values | st.fixed_dictionaries({"content": st.text(max_size=30)}),
        "mixed": json_values,
        "event": json_values | st.fixed_dictionaries({"eventtype": st.just("enter_chat")}),
    },
)


def survives(result: object) -> None:
    """An event round-trips through the inbox's JSON payload unchanged."""
    if isinstance(result, Event):
        assert from_payload(json.loads(json.dumps(to_payload(result)))) == result


def only_adapter_errors(fn: Any, *args: Any) -> None:
    try:
        survives(fn(*args))
    except AdapterError as exc:
        assert 400 <= exc.status < 500


@FUZZ
@given(st.binary(max_size=300) | wecom_xml.map(str.encode))
def test_wecom_parse_xml_and_to_event(data: bytes) -> None:
    only_adapter_errors(wecom.parse_xml, data)
    only_adapter_errors(wecom.to_event, data.decode("utf-8", "replace"), NOW)


@FUZZ
@given(wecom_xml, st.text(max_size=12))
def test_wecom_signed_callbacks_of_any_shape(inner: str, nonce: str) -> None:
    ts = int(time.time())
    q, body = wecom_sign.sign_post_xml(APP, inner, ts, nonce or "n")
    only_adapter_errors(wecom.parse_callback, APP, Request(query=q, body=body), ts, 300)


@FUZZ
@given(
    st.binary(max_size=300),
    st.dictionaries(st.sampled_from(["msg_signature", "timestamp", "nonce"]), st.text(max_size=50)),
)
def test_wecom_and_aibot_random_requests(body: bytes, query: dict[str, str]) -> None:
    req = Request(query=query, body=body)
    only_adapter_errors(wecom.parse_callback, APP, req, NOW, 300)
    only_adapter_errors(aibot.parse_callback, AIBOT, req, NOW, 300)


@FUZZ
@given(onebot_bodies, st.sampled_from(["", "fuzz-secret"]))
def test_onebot_events_of_any_shape(body: dict[str, Any], secret: str) -> None:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Signature": onebot.sign(secret, raw)}
    only_adapter_errors(onebot.parse, secret, Request(headers=headers, body=raw), NOW)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["application/json", "text/plain", ""]))
def test_onebot_random_bytes(raw: bytes, ctype: str) -> None:
    headers = {"Content-Type": ctype, "X-Signature": onebot.sign("s", raw)}
    only_adapter_errors(onebot.parse, "s", Request(headers=headers, body=raw), NOW)


@FUZZ
@given(aibot_bodies)
def test_aibot_signed_payloads_of_any_shape(inner: dict[str, Any]) -> None:
    ts = int(time.time())
    q, body = wecom_sign.sign_post_aibot(AIBOT, inner, ts, "nonce")
    only_adapter_errors(aibot.parse_callback, AIBOT, Request(query=q, body=body), ts, 300)


words = st.sampled_from(sorted({w for s in REGISTRY.specs.values() for w in (s.name, *s.aliases)}))
lines = st.one_of(
    st.text(max_size=60),
    st.tuples(
        st.sampled_from(["", "@群助手 ", "@bot ", " "]),
        st.sampled_from([*PREFIXES, ""]),
        words | st.text(max_size=10),
        st.text(alphabet=st.sampled_from(list("ab @／/ 　x1")), max_size=20),
    ).map("".join),
)


@settings(max_examples=200, deadline=None)
@given(lines, st.lists(st.text(max_size=6), max_size=3))
def test_command_parser_never_raises(text: str, mentions: list[str]) -> None:
    cmd = parse(text, REGISTRY, tuple(mentions), ("群助手",))
    if cmd is None:
        return
    assert cmd.known == (cmd.spec is not None)
    if cmd.spec is not None:
        assert REGISTRY.resolve(cmd.typed) is cmd.spec and cmd.name == cmd.spec.name
    assert set(mentions) <= set(cmd.mentions)
    assert all(not w.startswith("@") for w in cmd.words)
