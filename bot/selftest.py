"""``groupbot check-config`` beyond the schema: key shapes and a crypto round trip.

Rules: a config that validates but cannot possibly talk to WeCom (a token of the wrong length, an
AES key that does not decode) is reported here with its key path, before anything is deployed.
Each configured key pair must round-trip a sample this check encrypts and signs itself, through
the same verify + decrypt code the callbacks use. ``--online`` also asks WeCom for an access
token with ``corp_id``/``secret`` and reports WeCom's answer (60020 names the untrusted IP cause).
"""

from __future__ import annotations

import base64
import binascii
import re
import time

from bot.config import Config

_TOKEN = re.compile(r"^[A-Za-z0-9]{3,32}$")
_AES = re.compile(r"^[A-Za-z0-9]{43}$")


def key_problems(prefix: str, token: str, aes_key: str) -> list[str]:
    """Shape problems of one token/EncodingAESKey pair (empty pair = not configured)."""
    if not token and not aes_key:
        return []
    out = []
    if not _TOKEN.match(token):
        out.append(f"{prefix}.token: must be 3-32 letters or digits")
    if not _AES.match(aes_key):
        out.append(f"{prefix}.encoding_aes_key: must be 43 letters or digits")
    else:
        try:
            if len(base64.b64decode(aes_key + "=")) != 32:
                out.append(f"{prefix}.encoding_aes_key: does not decode to 32 bytes")
        except binascii.Error:
            out.append(f"{prefix}.encoding_aes_key: not valid base64")
    return out


async def run_checks(config: Config, online: bool = False) -> list[str]:
    """Every problem found; empty when the config is usable."""
    w = config.wecom
    problems = key_problems("wecom", w.token, w.encoding_aes_key)
    problems += key_problems("wecom.aibot", w.aibot.token, w.aibot.encoding_aes_key)
    if w.token and not w.corp_id:
        problems.append("wecom.corp_id: required when wecom.token is set")
    if not problems:
        problems += round_trip("wecom", w.token, w.encoding_aes_key, w.corp_id)
        problems += round_trip("wecom.aibot", w.aibot.token, w.aibot.encoding_aes_key, "")
    if online:
        problems += await online_check(config)
    for i, g in enumerate(config.groups):
        if g.platform == "onebot" and not config.onebot.api_url:
            problems.append(f"groups[{i}].platform: onebot groups need onebot.api_url")
            break
    return problems


def round_trip(prefix: str, token: str, aes_key: str, receive_id: str) -> list[str]:
    """Encrypt and sign a sample as WeCom would, then verify and decrypt it as callbacks do."""
    if not token or not aes_key:
        return []
    from bot.adapters import wecom_sign
    from bot.adapters.base import AdapterError, Request
    from bot.adapters.wecom import WeComKeys, verify_url

    keys = WeComKeys(token, aes_key, receive_id)
    now = int(time.time())
    sample = f"groupbot-selftest-{now}"
    try:
        query = wecom_sign.sign_get(keys, sample, now, "selftest")
        got = verify_url(keys, Request(query=query, headers={}, body=b""), now, 300)
    except (AdapterError, ValueError) as exc:
        return [f"{prefix}: encrypted sample does not round-trip ({exc})"]
    return [] if got == sample else [f"{prefix}: encrypted sample came back different"]


async def online_check(config: Config) -> list[str]:
    """gettoken with corp_id/secret; one problem line when WeCom refuses."""
    import aiohttp

    from bot.clock import SystemClock
    from bot.wecom_api import WeComClient

    w = config.wecom
    if not (w.corp_id and w.secret):
        return ["wecom.secret: --online needs wecom.corp_id and wecom.secret"]
    async with aiohttp.ClientSession() as http:
        client = WeComClient(http, SystemClock(), w.api_base, w.corp_id, w.secret)
        reason = await client.check()
    if reason:
        return [f"wecom.secret: gettoken failed: {reason}"]
    print(f"wecom: gettoken ok ({w.api_base})")
    return []
