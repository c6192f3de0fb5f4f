"""``groupbot check-config`` beyond the schema: key shapes and a crypto round trip.

Rule: a config that validates but cannot possibly talk to WeCom (a token of the wrong length, an
AES key that does not decode) is reported here with its key path, before anything is deployed.
"""

from __future__ import annotations

import base64
import binascii
import re

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
    for i, g in enumerate(config.groups):
        if g.platform == "onebot" and not config.onebot.api_url:
            problems.append(f"groups[{i}].platform: onebot groups need onebot.api_url")
            break
    return problems
