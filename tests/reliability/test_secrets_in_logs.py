"""Secrets never reach the output: a full `groupbot serve` at DEBUG level, callbacks that pass
and callbacks that fail, outbound calls that fail, the API with right and wrong tokens — then
stdout, stderr and every log file are searched for each configured secret.

Rules checked (bot/logs.py): the WeCom token, AES keys, corp secret, aibot token/key, OneBot
secret and access token, API token and robot webhook keys appear nowhere — neither verbatim
nor URL-encoded nor base64-encoded (the secrets contain ``+ / =`` so those forms differ).
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import aiohttp
import pytest

from bot.adapters import wecom_sign
from bot.adapters.onebot import sign
from bot.adapters.wecom import WeComKeys
from tests.fakes.onebot_bridge import FakeOneBot
from tests.fakes.server import free_port
from tests.fakes.wecom_api import FakeWeCom
from tests.reliability.serve import (
    ServeProcess,
    group_message,
    query,
    wait_for,
    write_config,
)

WECOM = WeComKeys("wecomTok3nQ7Z9", "Abcdefghijklmnopqrstuvwxyz0123456789ABCDEFX", "wwsecretcorp")
AIBOT = WeComKeys("aibotTok9Kx2", "Zyxwvutsrqponmlkjihgfedcba9876543210ZYXWVUT", "")
SECRETS = {
    "wecom.token": WECOM.token,
    "wecom.encoding_aes_key": WECOM.encoding_aes_key,
    "wecom.secret": "corp+Secret/=Kq81",
    "wecom.aibot.token": AIBOT.token,
    "wecom.aibot.encoding_aes_key": AIBOT.encoding_aes_key,
    "onebot.secret": "ob+Secret/=1Hx",
    "onebot.access_token": "ob-Access+tok/=7",
    "bot.api_token": "api+Token/=xyz9",
    "groups.webhook_key": "hook-Key+/=42abc",
}


def forms(secret: str) -> dict[str, str]:
    """The spellings a secret could leak in."""
    raw = secret.encode()
    out = {
        "verbatim": secret,
        "url": quote(secret, safe=""),
        "url-plus": quote_plus(secret),
        "base64": base64.b64encode(raw).decode(),
        "base64url": base64.urlsafe_b64encode(raw).decode(),
    }
    if len(secret) == 43:  # an EncodingAESKey: the AES key itself, as hex
        out["aes-hex"] = base64.b64decode(secret + "=").hex()
    return out


def config_body(bridge: str, wecom_api: str) -> str:
    s = SECRETS
    return f"""
[bot]
api_token = "{s["bot.api_token"]}"
[wecom]
corp_id = "{WECOM.receive_id}"
token = "{s["wecom.token"]}"
encoding_aes_key = "{s["wecom.encoding_aes_key"]}"
secret = "{s["wecom.secret"]}"
api_base = "{wecom_api}"
[wecom.aibot]
token = "{s["wecom.aibot.token"]}"
encoding_aes_key = "{s["wecom.aibot.encoding_aes_key"]}"
[onebot]
secret = "{s["onebot.secret"]}"
api_url = "{bridge}"
access_token = "{s["onebot.access_token"]}"
[[groups]]
id = "50001"
platform = "onebot"
name = "QQ群"
[[groups]]
id = "wrSecretChat"
platform = "wecom"
name = "企微群"
webhook_key = "{s["groups.webhook_key"]}"
"""


def outbox_settled(db: Path) -> bool:
    """Something was queued, and nothing is queued any more (sent or dead)."""
    counts = dict(query(db, "select status, count(*) from outbox group by 1"))
    return bool(counts) and counts.get("queued", 0) == 0


async def exercise(http: aiohttp.ClientSession, base: str, wecom_api: str) -> None:
    """Good and bad requests on every route, so success and failure paths both log."""
    now = int(time.time())
    cb, ai = f"{base}/wecom/callback", f"{base}/wecom/aibot"
    q = wecom_sign.sign_get(WECOM, "echo-123", now, "g1")
    await http.get(cb, params=q)
    await http.get(cb, params={**q, "msg_signature": "0" * 40})
    xml = wecom_sign.external_chat_xml("wrSecretChat", "update", "add_member", ("u1",))
    for nonce, ts, keys in (("p1", now, WECOM), ("p2", now - 9999, WECOM)):
        q, body = wecom_sign.sign_post_xml(keys, xml, ts, nonce)
        await http.post(cb, params=q, data=body)
        await http.post(cb, params={**q, "msg_signature": "f" * 40}, data=body)
    q, body = wecom_sign.sign_post_xml(
        WeComKeys(WECOM.token, WECOM.encoding_aes_key, "x"), xml, now, "p3"
    )
    await http.post(cb, params=q, data=body)
    await http.post(cb, params=q, data=b"<!DOCTYPE x><xml/>")
    inner = wecom_sign.aibot_text(
        "wrSecretChat",
        "lisi",
        "@bot /帮助",
        "m1",
        f"{wecom_api}/cgi-bin/aibot/response?response_code=c1",
    )
    q, body = wecom_sign.sign_post_aibot(AIBOT, inner, now, "a1")
    await http.post(ai, params=q, data=body)
    await http.post(ai, params={**q, "msg_signature": "e" * 40}, data=body)
    await http.post(ai, params=q, data=b"[" * 50_000)
    ob = group_message(50001, 7, 1, "/帮助")
    for sig in (sign(SECRETS["onebot.secret"], ob), "sha1=" + "0" * 40, None):
        headers = {"Content-Type": "application/json", **({"X-Signature": sig} if sig else {})}
        await http.post(f"{base}/onebot", data=ob, headers=headers)
    token = SECRETS["bot.api_token"]
    for auth in (f"Bearer {token}", "Bearer wrong", token):
        await http.get(f"{base}/api/outbox", headers={"Authorization": auth})
        await http.get(f"{base}/api/groups", headers={"Authorization": auth})
    await http.get(f"{base}/admin/", params={"token": token})
    await http.get(f"{base}/admin/", params={"token": "wrong"})
    for gid in ("wrSecretChat", "50001"):  # outbound calls that fail and retry
        await http.post(
            f"{base}/api/groups/{gid}/messages",
            json={"text": "广播"},
            headers={"Authorization": f"Bearer {token}"},
        )


@pytest.mark.slow
async def test_no_secret_in_any_output(tmp_path: Path) -> None:
    fake = FakeWeCom(secret=SECRETS["wecom.secret"])
    fake.fail_next(2, 500)
    bridge = FakeOneBot(access_token="a-different-token")  # our token is refused: 403
    await fake.start()
    await bridge.start()
    try:
        async with aiohttp.ClientSession() as http:
            port = free_port()
            cfg = write_config(tmp_path, port, config_body(bridge.url, fake.url))
            proc = ServeProcess(cfg, tmp_path, port, log_level="DEBUG")
            try:
                proc.start()
                await proc.wait_healthy(http)
                await exercise(http, proc.base, fake.url)
                # the failing robot webhook is retried until it gets through
                await wait_for(lambda: outbox_settled(tmp_path / "bot.db"), 30, "outbox settled")
                await proc.wait_healthy(http)
            finally:
                if proc.proc is not None and proc.proc.poll() is None:
                    proc.terminate()
                    await proc.wait_exit(30)
                proc.close()
    finally:
        await bridge.stop()
        await fake.stop()
    output = proc.output()
    assert b"outbox" in output and b"refused" in output  # the failure paths did log
    text = output.decode("utf-8", "replace")
    leaks = [
        f"{name} ({how})"
        for name, secret in SECRETS.items()
        for how, form in forms(secret).items()
        if form in text
    ]
    assert leaks == [], leaks
