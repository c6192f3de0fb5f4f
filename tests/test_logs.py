"""Logs are JSON lines carrying the event id, and never contain a configured secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Awaitable, Callable

from bot import logs
from bot.dispatch.context import Context
from bot.dispatch.router import Router
from bot.events import MessageReceived
from tests.harness import Harness

SECRETS = {
    "wecom": {
        "token": "tokTOKEN123",
        "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "secret": "corp-secret-value",
    },
    "onebot": {"secret": "hmac-secret-value", "access_token": "bridge-access-token"},
    "bot": {"api_token": "api-token-value"},
}


async def test_logs_carry_event_id_and_mask_secrets(
    make_harness: Callable[..., Awaitable[Harness]],
) -> None:
    h: Harness = await make_harness(SECRETS)
    stream = io.StringIO()
    logs.setup("INFO", logs.secrets_of(h.bot.config), stream=stream)
    try:
        r = Router("leaky")

        @r.on(MessageReceived)
        async def leaky(ctx: Context) -> None:
            w = ctx.config.wecom
            logging.getLogger("groupbot.test").info("about to fail with %s", w.secret)
            raise RuntimeError(
                f"token {w.token} key {w.encoding_aes_key} api {ctx.config.bot.api_token}"
            )

        h.bot.services.routers.insert(0, r)
        await h.say("bob", "hello")
    finally:
        logging.getLogger().handlers = [
            x for x in logging.getLogger().handlers if not getattr(x, "_groupbot", False)
        ]
    out = stream.getvalue()
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert any("event_id" in line for line in lines)
    assert any(line.get("exc") for line in lines)
    for section in SECRETS.values():
        for value in section.values():
            assert value not in out
