"""Hostile input on every callback route: refused quickly with 4xx, nothing stored, and the
server keeps serving.

Rules checked (bot/web/ingest.py and the adapters):
- XML with a DOCTYPE/ENTITY (billion laughs, external entities) is refused before any parser
  expands it — in the outer envelope and inside the encrypted, correctly signed payload.
- Bodies over the cap (10 MB, with or without a Content-Length) → 413 without buffering.
- Invalid UTF-8, JSON nested thousands deep, wrong content types, truncated base64, a wrong
  receive id (corp id), stale or future timestamps, a reused nonce with another signature →
  4xx within a few seconds; the inbox is unchanged.
- An exact replay (same signature, nonce, timestamp, body) is a redelivery: answered like the
  first, stored once. OneBot v11 carries no nonce/timestamp; its replays are deduplicated by
  the event's key.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.adapters import wecom_sign
from bot.adapters.onebot import sign
from bot.adapters.wecom import WeComKeys
from bot.web.app import create_app
from storage.models import InboxEvent
from tests.harness import Harness
from tests.reliability.serve import group_message

AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP = WeComKeys("apptoken", AES, "wwcorp")
AIBOT = WeComKeys("aibottoken", AES[::-1], "")
SECRET = "hostile-secret"
BOMB = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)).replace(
        "&lol0;", "&lol;"
    )
    + "]><xml><Encrypt>&lol9;</Encrypt></xml>"
)
XXE = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'
DEEP = b"[" * 60_000
TEN_MB = 10 * 1024 * 1024
Case = tuple[str, dict[str, str], Any, dict[str, str], int]


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> tuple[Harness, TestClient]:
    h = await make_harness(
        {
            "onebot": {"secret": SECRET},
            "wecom": {
                "corp_id": "wwcorp",
                "token": APP.token,
                "encoding_aes_key": AES,
                "aibot": {"token": AIBOT.token, "encoding_aes_key": AIBOT.encoding_aes_key},
            },
        }
    )
    return h, await aiohttp_client(create_app(h.bot, manage=False))


async def stored(h: Harness) -> int:
    async with h.bot.db.read() as s:
        q = select(func.count()).select_from(InboxEvent).where(InboxEvent.platform != "internal")
        return int(await s.scalar(q) or 0)


def now() -> int:
    return int(time.time())


async def chunks(total: int) -> AsyncIterator[bytes]:
    """A body with no Content-Length (chunked transfer encoding)."""
    block = b"<" * 65536
    for _ in range(total // len(block)):
        yield block


async def run_cases(h: Harness, client: TestClient, cases: list[Case]) -> None:
    before = await stored(h)
    for name, params, body, headers, status in cases:
        started = time.monotonic()
        data = chunks(TEN_MB) if body == "chunked" else body
        r = await client.post(name.split(" ")[0], params=params, data=data, headers=headers)
        took = time.monotonic() - started
        assert (r.status, took < 5) == (status, True), (name, took, await r.text())
        assert await stored(h) == before, name


def signed(keys: WeComKeys, plain: str | bytes, ts: int, nonce: str) -> tuple[dict[str, str], str]:
    """(query, Encrypt) for an arbitrary plaintext, signed correctly."""
    enc = wecom_sign.encrypt(keys, plain.decode("latin-1") if isinstance(plain, bytes) else plain)
    q = {"msg_signature": wecom_sign.signature(keys.token, str(ts), nonce, enc)}
    return {**q, "timestamp": str(ts), "nonce": nonce}, enc


def xml_body(enc: str) -> bytes:
    return (
        f"<xml><ToUserName>wwcorp</ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>".encode()
    )


async def test_wecom_callback_refuses_hostile_requests(setup: tuple[Harness, TestClient]) -> None:
    h, client = setup
    xml = wecom_sign.text_xml("wwcorp", "zhangsan", "你好", 11)
    good_q, good = wecom_sign.sign_post_xml(APP, xml, now(), "good")
    bomb_q, bomb_enc = signed(
        APP, BOMB.replace("<Encrypt>&lol9;</Encrypt>", "<a>&lol9;</a>"), now(), "b"
    )
    xxe_q, xxe_enc = signed(APP, XXE, now(), "x")
    bad_utf8_q, bad_utf8_enc = signed(APP, b"<xml>\xff\xfe</xml>", now(), "u")
    short_q, short_enc = signed(APP, "", now(), "s")
    trunc_enc = good.split(b"CDATA[")[-1].split(b"]]")[0][:-7].decode()
    trunc_q = signed(APP, "", now(), "t")[0]
    trunc_q["msg_signature"] = wecom_sign.signature(APP.token, trunc_q["timestamp"], "t", trunc_enc)
    wrong_id_q, wrong_id = wecom_sign.sign_post_xml(
        WeComKeys(APP.token, AES, "wwother"), xml, now(), "w"
    )
    stale_q, stale = wecom_sign.sign_post_xml(APP, xml, now() - 3600, "old")
    future_q, future = wecom_sign.sign_post_xml(APP, xml, now() + 3600, "new")
    r = "/wecom/callback"
    cases: list[Case] = [
        (f"{r} billion-laughs", good_q, BOMB.encode(), {}, 400),
        (f"{r} xxe", good_q, XXE.encode(), {}, 400),
        (f"{r} inner-billion-laughs", bomb_q, xml_body(bomb_enc), {}, 400),
        (f"{r} inner-xxe", xxe_q, xml_body(xxe_enc), {}, 400),
        (f"{r} 10MB", good_q, b"<" * TEN_MB, {}, 413),
        (f"{r} 10MB-chunked", good_q, "chunked", {}, 413),
        (f"{r} invalid-utf8", good_q, b"<xml>\xff\xfe\xfd</xml>", {}, 400),
        (f"{r} inner-invalid-utf8", bad_utf8_q, xml_body(bad_utf8_enc), {}, 400),
        (f"{r} inner-empty", short_q, xml_body(short_enc), {}, 400),
        (
            f"{r} json-instead",
            good_q,
            b'{"encrypt": "x"}',
            {"Content-Type": "application/json"},
            400,
        ),
        (f"{r} empty", good_q, b"", {}, 400),
        (f"{r} truncated-base64-signed", trunc_q, xml_body(trunc_enc), {}, 400),
        (f"{r} truncated-base64-unsigned", good_q, xml_body(trunc_enc), {}, 401),
        (f"{r} wrong-receive-id", wrong_id_q, wrong_id, {}, 401),
        (f"{r} stale", stale_q, stale, {}, 403),
        (f"{r} future", future_q, future, {}, 403),
        (f"{r} ts-not-a-number", {**good_q, "timestamp": "soon"}, good, {}, 400),
        (f"{r} no-signature", {"timestamp": good_q["timestamp"], "nonce": "n"}, good, {}, 401),
    ]
    await run_cases(h, client, cases)
    for _ in range(2):  # an exact replay is a redelivery: same answer, one row
        assert (await client.post(r, params=good_q, data=good)).status == 200
    other_q, other = wecom_sign.sign_post_xml(
        APP, wecom_sign.text_xml("wwcorp", "x", "y", 12), int(good_q["timestamp"]), "good"
    )
    await run_cases(h, client, [(f"{r} reused-nonce", other_q, other, {}, 403)])
    assert await stored(h) == 1


async def test_aibot_refuses_hostile_requests(setup: tuple[Harness, TestClient]) -> None:
    h, client = setup
    inner = wecom_sign.aibot_text("wrG", "lisi", "@群助手 /帮助", "msg-1")
    good_q, good = wecom_sign.sign_post_aibot(AIBOT, inner, now(), "a1")
    deep_q, deep_enc = signed(AIBOT, "[" * 40_000, now(), "d")
    text_q, text_enc = signed(AIBOT, "not json", now(), "j")
    wrong_q, wrong = wecom_sign.sign_post_aibot(
        WeComKeys(AIBOT.token, AIBOT.encoding_aes_key, "wwcorp"), inner, now(), "w"
    )
    stale_q, stale = wecom_sign.sign_post_aibot(AIBOT, inner, now() - 3600, "s")
    enc = json.loads(good)["encrypt"]
    r = "/wecom/aibot"
    cases: list[Case] = [
        (f"{r} deep-json", good_q, DEEP, {}, 400),
        (f"{r} inner-deep-json", deep_q, json.dumps({"encrypt": deep_enc}).encode(), {}, 400),
        (f"{r} inner-not-json", text_q, json.dumps({"encrypt": text_enc}).encode(), {}, 400),
        (f"{r} 10MB", good_q, b"{" * TEN_MB, {}, 413),
        (f"{r} invalid-utf8", good_q, b'{"encrypt": "\xff\xfe"}', {}, 400),
        (f"{r} array", good_q, b"[1, 2]", {}, 400),
        (f"{r} encrypt-not-string", good_q, b'{"encrypt": 5}', {}, 400),
        (f"{r} xml-instead", good_q, BOMB.encode(), {"Content-Type": "text/xml"}, 400),
        (f"{r} truncated", good_q, json.dumps({"encrypt": enc[:-9]}).encode(), {}, 401),
        (f"{r} wrong-receive-id", wrong_q, wrong, {}, 401),
        (f"{r} stale", stale_q, stale, {}, 403),
    ]
    await run_cases(h, client, cases)
    for _ in range(2):
        assert (await client.post(r, params=good_q, data=good)).status == 200
    assert await stored(h) == 1


async def test_onebot_refuses_hostile_requests(setup: tuple[Harness, TestClient]) -> None:
    h, client = setup
    good = group_message(10001, 5, 1, "/帮助")

    def hdr(body: bytes, **extra: str) -> dict[str, str]:
        return {"Content-Type": "application/json", "X-Signature": sign(SECRET, body), **extra}

    r = "/onebot"
    cases: list[Case] = [
        (f"{r} unsigned", {}, good, {"Content-Type": "application/json"}, 401),
        (f"{r} bad-signature", {}, good, hdr(good + b" "), 403),
        (f"{r} deep-json", {}, DEEP, hdr(DEEP), 400),
        (f"{r} invalid-utf8", {}, b'{"a": "\xff"}', hdr(b'{"a": "\xff"}'), 400),
        (f"{r} not-an-object", {}, b"[]", hdr(b"[]"), 400),
        (f"{r} wrong-content-type", {}, good, hdr(good, **{"Content-Type": "text/plain"}), 415),
        (
            f"{r} xml-bomb",
            {},
            BOMB.encode(),
            hdr(BOMB.encode(), **{"Content-Type": "text/xml"}),
            415,
        ),
        (f"{r} 10MB", {}, b" " * TEN_MB, hdr(b""), 413),
        (f"{r} 10MB-chunked", {}, "chunked", hdr(b""), 413),
    ]
    await run_cases(h, client, cases)
    for _ in range(2):  # a replayed event is deduplicated by its key
        assert (await client.post(r, data=good, headers=hdr(good))).status == 204
    assert await stored(h) == 1
