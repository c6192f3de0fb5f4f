"""OneBot v11 adapter: signatures, parsing, rejections."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters import onebot
from bot.adapters.base import AdapterError, Request
from bot.events import MemberJoined, MemberLeft, MessageReceived, UnknownEvent

SECRET = "s3cret"


def req(body: dict | bytes, secret: str | None = SECRET, **headers: str) -> Request:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"Content-Type": "application/json", **headers}
    if secret:
        h["X-Signature"] = onebot.sign(secret, raw)
    return Request(headers=h, body=raw)


def group_msg(**over: object) -> dict:
    body = {
        "time": 1763431200,
        "self_id": 999,
        "post_type": "message",
        "message_type": "group",
        "sub_type": "normal",
        "message_id": 42,
        "group_id": 10001,
        "user_id": 123,
        "message": [
            {"type": "at", "data": {"qq": "999"}},
            {"type": "text", "data": {"text": " /签到 "}},
            {"type": "at", "data": {"qq": "456"}},
            {"type": "image", "data": {"file": "a.jpg", "url": "http://x/a.jpg"}},
        ],
        "raw_message": "",
        "sender": {"user_id": 123, "nickname": "小明", "card": "明明", "role": "admin"},
    }
    body.update(over)
    return body


def test_known_signature_vector() -> None:
    assert onebot.sign("secret", b'{"post_type":"message"}') == (
        "sha1=337a43569f539f97888127f17fefc625794e5e06"
    )


def test_group_message_with_segments() -> None:
    ev = onebot.parse(SECRET, req(group_msg()), now=0)
    assert isinstance(ev, MessageReceived)
    assert ev.group_id == "10001" and ev.user_id == "123" and ev.user_name == "明明"
    assert ev.text == "/签到" and ev.mentions == ("456",) and ev.to_bot
    assert ev.sender_role == "admin" and ev.images[0].url == "http://x/a.jpg"
    assert ev.dedup_key == onebot.parse(SECRET, req(group_msg()), now=5).dedup_key


def test_cq_string_message() -> None:
    body = group_msg(message="[CQ:at,qq=456] 你好 &#91;x&#93; [CQ:share,url=http://a.b]")
    ev = onebot.parse(SECRET, req(body), now=0)
    assert isinstance(ev, MessageReceived)
    assert ev.mentions == ("456",) and ev.text == "你好 [x]" and ev.attachments == ("link",)


def test_notices() -> None:
    inc = {
        "post_type": "notice",
        "notice_type": "group_increase",
        "sub_type": "invite",
        "group_id": 10001,
        "operator_id": 7,
        "user_id": 8,
        "self_id": 999,
        "time": 1,
    }
    ev = onebot.parse(SECRET, req(inc), now=0)
    assert isinstance(ev, MemberJoined) and ev.inviter_id == "7"
    assert ev.inviter_source == "onebot_invite"
    approve = dict(inc, sub_type="approve")
    ev2 = onebot.parse(SECRET, req(approve), now=0)
    assert isinstance(ev2, MemberJoined) and ev2.inviter_id == ""
    dec = dict(inc, notice_type="group_decrease", sub_type="kick")
    ev3 = onebot.parse(SECRET, req(dec), now=0)
    assert isinstance(ev3, MemberLeft) and ev3.kicked and ev3.operator_id == "7"
    assert isinstance(
        onebot.parse(SECRET, req({"post_type": "notice", "notice_type": "poke"}), 0), UnknownEvent
    )


def test_meta_events_are_not_stored() -> None:
    assert (
        onebot.parse(SECRET, req({"post_type": "meta_event", "meta_event_type": "heartbeat"}), 0)
        is None
    )


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (Request(headers={"Content-Type": "application/json"}, body=b"{}"), 401),
        (
            Request(
                headers={"X-Signature": "sha1=00", "Content-Type": "application/json"}, body=b"{}"
            ),
            403,
        ),
        (req(b"not json"), 400),
        (req(b"\xff\xfe"), 400),
        (req(b"[1,2]"), 400),
        (req(b"{}", **{"Content-Type": "text/plain"}), 415),
        (req(b"{" + b" " * (64 * 1024) + b"}"), 413),
    ],
)
def test_rejections(request_: Request, status: int) -> None:
    with pytest.raises(AdapterError) as exc:
        onebot.parse(SECRET, request_, now=0)
    assert exc.value.status == status


def test_no_secret_means_no_signature_needed() -> None:
    ev = onebot.parse("", req(group_msg(), secret=None), now=0)
    assert isinstance(ev, MessageReceived)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=6),
        max_leaves=20,
    )
)
def test_fuzz_json_never_crashes(value: object) -> None:
    body = (
        value
        if not isinstance(value, dict)
        else {**value, "post_type": "message", "message_type": "group"}
    )
    try:
        onebot.parse(SECRET, req(json.dumps(body).encode()), now=0)
    except AdapterError:
        pass
