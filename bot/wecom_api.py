"""WeCom server API client (``/cgi-bin/…`` with an access token), over the bot's aiohttp session.

Rules (PLATFORMS.md §2.4, §3):
- One token cache per (api_base, corp_id, secret), shared by every caller in the process. A
  token is refreshed ``REFRESH_MARGIN_S`` before it expires, and by one caller at a time
  (single flight): concurrent callers wait for that refresh instead of starting their own.
- A call answered with 40001/40014/42001 (bad or expired token) drops that token and is retried
  once with a fresh one; a second failure is the caller's error.
- Errcode 60020 (this server's IP is not in the app's trusted IPs) is logged with its cause and
  shown in ``/healthz`` details until a call succeeds again.
- Calls are paced to ``calls_per_second`` per client, so a full reconcile of many groups stays
  within WeCom's frequency limits.
- -1 (busy), 45009/45033 (frequency) and transport trouble are ``retryable``; other errcodes
  are not.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from bot.clock import Clock
from bot.state import StateKey

log = logging.getLogger("groupbot.wecom")
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
RETRYABLE = frozenset({-1, 45009, 45033})
IP_NOT_TRUSTED = 60020
REFRESH_MARGIN_S = 300
TIMEOUT = aiohttp.ClientTimeout(total=10)


class WeComError(Exception):
    """A WeCom API call that did not succeed: ``errcode`` (0 for transport trouble)."""

    def __init__(self, errcode: int, errmsg: str, *, retryable: bool | None = None) -> None:
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.retryable = errcode in RETRYABLE if retryable is None else retryable


class WeComClient:
    """Access-token cache plus JSON calls for one corp app."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        clock: Clock,
        api_base: str,
        corp_id: str,
        secret: str,
        calls_per_second: float = 5.0,
    ) -> None:
        self.http = http
        self.clock = clock
        self.api_base = api_base.rstrip("/")
        self.corp_id = corp_id
        self.secret = secret
        self.interval = 1.0 / calls_per_second
        self.problem = ""  # a standing problem for /healthz (e.g. 60020), "" when fine
        self.token_fetches = 0
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self._pace = asyncio.Lock()
        self._last_call = 0.0

    # -- tokens ---------------------------------------------------------------------------------
    async def token(self) -> str:
        """A valid access token, fetched once for all concurrent callers when needed."""
        if self._token and self.clock.time() < self._expires_at:
            return self._token
        async with self._lock:
            if self._token and self.clock.time() < self._expires_at:
                return self._token  # another caller refreshed while we waited
            params = {"corpid": self.corp_id, "corpsecret": self.secret}
            data = await self._http("GET", "gettoken", params=params)
            code = int(data.get("errcode", 0) or 0)
            if code != 0 or not data.get("access_token"):
                raise self._error(code or -1, str(data.get("errmsg", "no access_token")))
            self.token_fetches += 1
            self._token = str(data["access_token"])
            life = float(data.get("expires_in", 7200))
            self._expires_at = self.clock.time() + max(life - REFRESH_MARGIN_S, life / 2)
            return self._token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` if it is still the cached one (a newer one is kept)."""
        if token and token == self._token:
            self._token = ""
            self._expires_at = 0.0

    # -- calls ----------------------------------------------------------------------------------
    async def call(
        self,
        path: str,
        body: dict[str, Any],
        *,
        query: dict[str, str] | None = None,
        upload: tuple[str, bytes] | None = None,
    ) -> dict[str, Any]:
        """POST ``/cgi-bin/{path}`` with ``body`` (or, with ``upload`` = (filename, bytes), that
        file as the multipart field ``media``); the answer when errcode is 0."""
        for attempt in (1, 2):
            token = await self.token()
            await self._paced()
            params = {**(query or {}), "access_token": token}
            data = await self._http("POST", path, params=params, body=body, upload=upload)
            code = int(data.get("errcode", 0) or 0)
            if code in TOKEN_ERRORS and attempt == 1:
                log.info("wecom %s: token refused (%s), refreshing once", path, code)
                self.invalidate(token)
                continue
            if code != 0:
                raise self._error(code, str(data.get("errmsg", "")))
            self.problem = ""
            return data
        raise AssertionError("unreachable")

    async def check(self) -> str:
        """Fetch a token now (``check-config --online``); '' when it worked, else the reason."""
        self.invalidate(self._token)
        try:
            await self.token()
        except WeComError as exc:
            return str(exc) + (f" — {self.problem}" if self.problem else "")
        return ""

    def _error(self, code: int, msg: str) -> WeComError:
        if code == IP_NOT_TRUSTED:
            self.problem = (
                "WeCom errcode 60020: this server's IP address is not in the app's trusted IP "
                "list (应用管理 → 企业可信IP); add it there"
            )
            log.error("%s (%s)", self.problem, msg)
        return WeComError(code, msg)

    async def _paced(self) -> None:
        async with self._pace:
            wait = self._last_call + self.interval - asyncio.get_running_loop().time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_call = asyncio.get_running_loop().time()

    async def _http(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str],
        body: dict[str, Any] | None = None,
        upload: tuple[str, bytes] | None = None,
    ) -> dict[str, Any]:
        url = f"{self.api_base}/cgi-bin/{path}"
        form: aiohttp.FormData | None = None
        if upload is not None:
            form = aiohttp.FormData()
            form.add_field("media", upload[1], filename=upload[0])
            body = None
        try:
            async with self.http.request(
                method, url, params=params, json=body, data=form, timeout=TIMEOUT
            ) as resp:
                if resp.status != 200:
                    raise WeComError(0, f"HTTP {resp.status} from {path}", retryable=True)
                data = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise WeComError(0, f"{path}: {type(exc).__name__}: {exc}", retryable=True) from exc
        if not isinstance(data, dict):
            raise WeComError(0, f"{path}: unexpected answer", retryable=True)
        return data


# one client per [wecom] identity in this process (it holds the access token)
CLIENTS: StateKey[dict[tuple[str, str, str], WeComClient]] = StateKey("wecom_clients", dict)


def client_for(bot: Any) -> WeComClient | None:
    """The process's client for ``[wecom]`` (None without corp_id and secret)."""
    w = bot.config.wecom
    if not (w.corp_id and w.secret) or bot.http is None:
        return None
    key = (w.api_base, w.corp_id, w.secret)
    clients: dict[tuple[str, str, str], WeComClient] = bot.services.state.need(CLIENTS)
    if key not in clients:
        clients[key] = WeComClient(
            bot.http, bot.clock, w.api_base, w.corp_id, w.secret, w.sync.calls_per_second
        )
    return clients[key]
