"""A fake of WeCom's HTTP API on 127.0.0.1: robot webhook, access tokens, aibot response_url,
and (tests/fakes/wecom_customer.py) customer groups, join ways and welcome templates.

It follows the documented JSON shapes and errcodes (PLATFORMS.md §4.1, §4.2): text ≤ 2048
bytes and markdown ≤ 4096 bytes (40058 beyond), empty content 44004, unknown robot 93000.
Faults can be injected: HTTP 5xx, errcodes (e.g. 45009) for a while, hangs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from aiohttp import web

from tests.fakes.clock import FakeClock
from tests.fakes.server import FakeServer

LIMITS = {"text": 2048, "markdown": 4096, "markdown_v2": 4096}


class FakeWeCom(FakeServer):
    def __init__(self, clock: FakeClock | None = None, secret: str = "corp-secret") -> None:
        super().__init__()
        self.clock = clock
        self.secret = secret
        self.robot_keys: set[str] | None = None  # None: any key is a robot
        self.webhook_calls: list[tuple[str, dict[str, Any], float]] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []
        self.tokens_issued = 0
        self._tokens: set[str] = set()
        self._expired: set[str] = set()
        self._used_codes: set[str] = set()
        self._fail: list[int] = []
        self._errcodes: list[int] = []
        self._errcode_until: tuple[float, int] | None = None
        self._hang: list[float] = []
        self._ids = itertools.count(1)
        r = self.app.router
        r.add_get("/cgi-bin/gettoken", self.gettoken)
        r.add_post("/cgi-bin/webhook/send", self.webhook_send)
        r.add_post("/cgi-bin/aibot/response", self.aibot_response)
        from tests.fakes.wecom_customer import CustomerGroups

        self.customer = CustomerGroups(self)  # groupchat/*, join ways, welcome templates
        from tests.fakes.wecom_groupmsg import GroupMsg

        self.groupmsg = GroupMsg(self)  # 企业群发, app messages, temporary media

    # -- fault injection ----------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.time() if self.clock else asyncio.get_running_loop().time()

    def add_robot(self, key: str) -> None:
        self.robot_keys = (self.robot_keys or set()) | {key}

    def fail_next(self, n: int, status: int = 500) -> None:
        self._fail += [status] * n

    def errcode_next(self, n: int, errcode: int = 45009) -> None:
        self._errcodes += [errcode] * n

    def errcode_for(self, seconds: float, errcode: int = 45009) -> None:
        self._errcode_until = (self.now() + seconds, errcode)

    def hang_next(self, n: int, seconds: float) -> None:
        self._hang += [seconds] * n

    def expire_tokens(self) -> None:
        self._expired |= self._tokens
        self._tokens = set()

    async def _faults(self) -> web.Response | None:
        if self._hang:
            await asyncio.sleep(self._hang.pop(0))
        if self._fail:
            return web.Response(status=self._fail.pop(0))
        if self._errcodes:
            code = self._errcodes.pop(0)
            return web.json_response({"errcode": code, "errmsg": "injected"})
        if self._errcode_until and self.now() < self._errcode_until[0]:
            return web.json_response({"errcode": self._errcode_until[1], "errmsg": "injected"})
        return None

    # -- routes -------------------------------------------------------------------------------
    async def gettoken(self, request: web.Request) -> web.Response:
        if self.customer.token_delay_s:
            await asyncio.sleep(self.customer.token_delay_s)  # a slow refresh (single flight)
        if self.customer.ip_untrusted:
            return web.json_response({"errcode": 60020, "errmsg": "not allow to access from ip"})
        if request.query.get("corpsecret") != self.secret:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        self.tokens_issued += 1
        token = f"tok-{self.tokens_issued}"
        self._tokens.add(token)
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        )

    def token_error(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        if token in self._expired:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if token not in self._tokens:
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        return None

    async def webhook_send(self, request: web.Request) -> web.Response:
        key = request.query.get("key", "")
        at = self.now()
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        self.webhook_calls.append((key, body, at))
        fault = await self._faults()
        if fault is not None:
            return fault
        if self.robot_keys is not None and key not in self.robot_keys:
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        kind = body.get("msgtype")
        if kind not in ("text", "markdown", "markdown_v2", "image", "news", "template_card"):
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        if kind in LIMITS:
            content = str(body.get(kind, {}).get("content", ""))
            if not content:
                return web.json_response({"errcode": 44004, "errmsg": "empty content"})
            if len(content.encode()) > LIMITS[kind]:
                msg = f"{kind}.content exceed max length {LIMITS[kind]}"
                return web.json_response({"errcode": 40058, "errmsg": msg})
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def aibot_response(self, request: web.Request) -> web.Response:
        code = request.query.get("response_code", "")
        fault = await self._faults()
        if fault is not None:
            return fault
        if code in self._used_codes:
            return web.json_response({"errcode": 40078, "errmsg": "response_code already used"})
        self._used_codes.add(code)
        self.responses.append((code, json.loads(await request.read())))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    # -- what a test asserts on ------------------------------------------------------------------
    def delivered(self, key: str | None = None) -> list[str]:
        """Contents of accepted-looking webhook calls (no injected fault), in order."""
        return [
            b.get(b.get("msgtype", ""), {}).get("content", "")
            for k, b, _ in self.webhook_calls
            if key is None or k == key
        ]

    def max_in_window(self, key: str, seconds: float = 60) -> int:
        """The most calls for ``key`` that fell into any window of ``seconds``."""
        times = sorted(t for k, _, t in self.webhook_calls if k == key)
        best = 0
        j = 0
        for i, t in enumerate(times):
            while times[j] <= t - seconds:
                j += 1
            best = max(best, i - j + 1)
        return best
