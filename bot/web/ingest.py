"""Webhook routes: verify + parse (adapters), store durably (inbox), then acknowledge.

Rules:
- A request that fails verification gets 401/403 and changes nothing; malformed 400; oversize
  413. The body is read with a cap, so a 10 MB body is refused without being buffered.
- The answer is sent only after the event's row has committed; if the database cannot take it
  within ``ACK_TIMEOUT_S`` (locked, slow, down), the answer is 503 and the platform retries. The
  write may still land after the 503; the redelivery then finds its key (no second effect).
- WeCom replay guard: the same (timestamp, nonce) seen again with a different signature is a
  forgery (403); with the same signature it is a redelivery and is answered like the first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

from aiohttp import web

from bot import adoptions
from bot.adapters import aibot, onebot, wecom
from bot.adapters.base import AdapterError, Request
from bot.events import Event, GroupChanged
from bot.inbox import Unstorable, bodiless
from bot.runtime import Bot
from bot.web.aibot_reply import passive_reply

log = logging.getLogger("groupbot.web")
BOT: web.AppKey[Bot] = web.AppKey("bot", Bot)
# WeCom drops a callback after 5 s and bridges time out too: answer 503 well before that
ACK_TIMEOUT_S = 3.0


class NonceGuard:
    """Remembers recent (timestamp, nonce) → signature pairs for the tolerance window."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._seen: OrderedDict[tuple[str, str], str] = OrderedDict()

    def check(self, timestamp: str, nonce: str, signature: str) -> None:
        key = (timestamp, nonce)
        prior = self._seen.get(key)
        if prior is not None and prior != signature:
            raise AdapterError(403, "nonce reused with another signature")
        self._seen[key] = signature
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)


NONCES: web.AppKey[NonceGuard] = web.AppKey("nonces", NonceGuard)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, refusing (413) anything over ``limit`` bytes without buffering it all."""
    if request.content_length is not None and request.content_length > limit:
        raise AdapterError(413, "body too large")
    data = await request.content.read(limit + 1)
    if len(data) > limit:
        raise AdapterError(413, "body too large")
    return data


def _req(request: web.Request, body: bytes = b"") -> Request:
    return Request(query=dict(request.query), headers=dict(request.headers), body=body)


async def store(bot: Bot, event: Event) -> None:
    """Commit ``event`` to the inbox, or raise 503 (failure, or no commit within the bound);
    an event that can never be stored is refused with 400 so the platform stops sending it.
    An event of a group the bot ignores keeps only its key (after a look for an adoption),
    except a group-created notice, which carries no member's data and may lead to one.

    The wait is bounded by ``asyncio.timeout``, which cancels only the waiting: a row handed to
    the inbox's writer is written all the same (the redelivery then finds its key), and one
    not yet written is not acknowledged."""
    await adoptions.refresh_for(bot.services, event.group_id)
    created = isinstance(event, GroupChanged) and event.change_type == "create"
    if bot.config.group_mode(event.group_id) == "ignore" and not created:
        event = bodiless(event)  # nothing will read it: keep the key, not the content
    try:
        async with asyncio.timeout(ACK_TIMEOUT_S):
            res = await bot.inbox.submit(event)
    except TimeoutError as exc:
        log.error("could not store %s within %ss", event.dedup_key[:60], ACK_TIMEOUT_S)
        raise web.HTTPServiceUnavailable(text="storage too slow, retry later") from exc
    except Unstorable as exc:
        log.warning("refused %s", exc)
        raise web.HTTPBadRequest(text="event cannot be stored") from exc
    except Exception as exc:
        log.error("could not store %s: %s", event.dedup_key[:60], exc)
        raise web.HTTPServiceUnavailable(text="storage unavailable, retry later") from exc
    bot.metrics.events.labels(event.platform, "new" if res.new else "duplicate").inc()


def _fail(bot: Bot, route: str, exc: AdapterError) -> web.Response:
    bot.metrics.requests.labels(route, str(exc.status)).inc()
    log.warning("%s refused (%s): %s", route, exc.status, exc.reason)
    return web.Response(status=exc.status, text=exc.reason)


def _keys(bot: Bot, which: str) -> wecom.WeComKeys:
    w = bot.config.wecom
    if which == "aibot":
        return wecom.WeComKeys(w.aibot.token, w.aibot.encoding_aes_key, "")
    return wecom.WeComKeys(w.token, w.encoding_aes_key, w.corp_id)


def _configured(keys: wecom.WeComKeys) -> bool:
    return bool(keys.token and keys.encoding_aes_key)


async def wecom_get(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    which = "aibot" if request.path.endswith("aibot") else "wecom"
    keys = _keys(bot, which)
    if not _configured(keys):
        return web.Response(status=404, text=f"{which} callback is not configured")
    try:
        echo = wecom.verify_url(
            keys, _req(request), time.time(), bot.config.wecom.timestamp_tolerance_s
        )
    except AdapterError as exc:
        return _fail(bot, which, exc)
    bot.metrics.requests.labels(which, "200").inc()
    return web.Response(body=echo.encode())


async def wecom_post(request: web.Request) -> web.StreamResponse:
    bot = request.app[BOT]
    which = "aibot" if request.path.endswith("aibot") else "wecom"
    keys = _keys(bot, which)
    if not _configured(keys):
        return web.Response(status=404, text=f"{which} callback is not configured")
    started = time.perf_counter()
    try:
        body = await read_body(request, wecom.MAX_BODY)
        req = _req(request, body)
        tol = bot.config.wecom.timestamp_tolerance_s
        parser = aibot.parse_callback if which == "aibot" else wecom.parse_callback
        event = parser(keys, req, time.time(), tol)
        q = request.query
        request.app[NONCES].check(
            q.get("timestamp", ""), q.get("nonce", ""), q.get("msg_signature", "")
        )
    except AdapterError as exc:
        return _fail(bot, which, exc)
    await store(bot, event)
    bot.metrics.requests.labels(which, "200").inc()
    bot.metrics.ack_seconds.labels(which).observe(time.perf_counter() - started)
    if which == "aibot":
        reply = await passive_reply(bot, keys, event, q.get("nonce", ""), time.monotonic())
        if reply is not None:
            return web.json_response(reply)
    return web.Response(status=200, text="")


async def onebot_post(request: web.Request) -> web.StreamResponse:
    bot = request.app[BOT]
    started = time.perf_counter()
    try:
        body = await read_body(request, onebot.MAX_BODY)
        event = onebot.parse(bot.config.onebot.secret, _req(request, body), time.time())
    except AdapterError as exc:
        return _fail(bot, "onebot", exc)
    if event is not None:
        await store(bot, event)
    bot.metrics.requests.labels("onebot", "204").inc()
    bot.metrics.ack_seconds.labels("onebot").observe(time.perf_counter() - started)
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    ob = app[BOT].config.onebot
    if ob.allow_unsigned and not ob.secret:
        log.warning(
            "!!! [onebot] allow_unsigned = true and no secret: POST /onebot accepts unsigned "
            "events from anyone who can reach it — any member, owner included, can be forged. "
            "Set [onebot] secret (and the same secret in the bridge) !!!"
        )
    app[NONCES] = NonceGuard()
    app.router.add_get("/wecom/callback", wecom_get)
    app.router.add_post("/wecom/callback", wecom_post)
    app.router.add_get("/wecom/aibot", wecom_get)
    app.router.add_post("/wecom/aibot", wecom_post)
    app.router.add_post("/onebot", onebot_post)
