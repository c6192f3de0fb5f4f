"""Senders: turn one outbox row into one platform call.

A sender returns normally when the platform accepted the row, raises ``Retry`` for trouble that
may pass (timeouts, 5xx, busy, rate limit) and ``Permanent`` for what never will (robot removed,
content too long, bad token) — the row is then dead-lettered with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from yarl import URL

from bot.clock import Clock
from bot.outbox import images
from storage.models import OutboxMessage

log = logging.getLogger("groupbot.send")


class Retry(Exception):
    def __init__(self, reason: str, after_s: float | None = None, pacing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after_s = after_s
        self.pacing = pacing  # a rate limit: not counted as a failure


class Permanent(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


WECOM_HOST = "qyapi.weixin.qq.com"
# WeCom errcodes that mean "try again later"; everything else non-zero is permanent.
WECOM_RETRY = {-1, 45033}
TIMEOUT = aiohttp.ClientTimeout(total=10)


class ConsoleSender:
    """Prints messages (the embedded default: no platform, no credentials)."""

    def __init__(self, sink: Callable[[str], None] | None = None, keep: bool = True) -> None:
        self.sink = sink or (lambda line: print(line, flush=True))
        # what was said, for tests and `groupbot chat`; a long-running server keeps nothing
        self.keep = keep
        self.lines: list[str] = []

    async def send(self, row: OutboxMessage) -> None:
        p = row.payload
        where = f"私聊 {p.get('user_id')}" if row.action == "private_text" else p.get("group_id")
        if row.action in ("text", "markdown", "private_text"):
            at = " ".join("@" + m for m in p.get("mentions") or [])
            line = f"[{where}] 🤖 {at + ' ' if at else ''}{p.get('text', '')}"
        else:
            detail = {k: v for k, v in p.items() if k != "group_id"}
            line = f"[{where}] 🤖 <{row.action}> {detail}"
        if self.keep:
            self.lines.append(line)
        self.sink(line)


def corp_userids(ids: Any) -> list[str]:
    """The ids a WeCom robot can @-mention: corp userids only. External contacts (members of a
    customer group from outside the company: ids starting ``wm`` or ``wo``) cannot be put in
    ``mentioned_list`` or ``<@…>``; the message names them in its text instead."""
    return [str(m) for m in ids or () if not str(m).startswith(("wm", "wo"))]


class WeComRobotSender:
    """Group robot webhook: ``POST {api_base}/cgi-bin/webhook/send?key=…``. Mentions go to
    corp userids only (``corp_userids``); external ids are left out with a log line."""

    def __init__(self, http: aiohttp.ClientSession, api_base: str) -> None:
        self.http = http
        self.api_base = api_base.rstrip("/")

    async def send(self, row: OutboxMessage) -> None:
        p = row.payload
        mentions = corp_userids(p.get("mentions"))
        if len(mentions) < len(p.get("mentions") or ()):
            log.info(
                "outbox %s: external contacts cannot be @-mentioned by a WeCom robot; "
                "named in the text only",
                row.id,
            )
        if row.action == "markdown":
            body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"content": p["text"]}}
            if mentions:
                mention = " ".join(f"<@{m}>" for m in mentions)
                body["markdown"]["content"] = f"{mention} {p['text']}"
        elif row.action in ("text", "private_text"):
            body = {"msgtype": "text", "text": {"content": p["text"]}}
            if mentions:
                body["text"]["mentioned_list"] = mentions
        elif row.action == "image":
            try:
                body = await images.wecom_robot_body(str(p.get("image", "")), p.get("title", ""))
            except ValueError as exc:
                raise Permanent(str(exc)) from exc
        else:
            raise Permanent(f"action {row.action} is not possible through a WeCom robot")
        url = f"{self.api_base}/cgi-bin/webhook/send"
        data = await _post_json(self.http, url, body, params={"key": row.target})
        code = int(data.get("errcode", -1))
        if code == 0:
            return
        reason = f"errcode {code}: {data.get('errmsg', '')}"
        if code == 45009:
            raise Retry(reason, after_s=60, pacing=True)
        if code in WECOM_RETRY:
            raise Retry(reason)
        raise Permanent(reason)


# OneBot retcodes that mirror HTTP 400/401/403/404 (the request itself is wrong): never retried
ONEBOT_REFUSED = {1400, 1401, 1403, 1404}
# a bridge's "failed" (account offline, send throttled, …) is tried this often before it is dead
ONEBOT_FAILED_TRIES = 3


class OneBotSender:
    """OneBot v11 HTTP API: ``POST {api_url}/{action}`` with a Bearer token."""

    def __init__(self, http: aiohttp.ClientSession, api_url: str, access_token: str) -> None:
        self.http = http
        self.api_url = api_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}

    def _call(self, row: OutboxMessage) -> tuple[str, dict[str, Any]]:
        p = row.payload
        if row.action in ("text", "markdown"):
            segs: list[dict[str, Any]] = []
            for m in p.get("mentions") or []:
                segs += [
                    {"type": "at", "data": {"qq": str(m)}},
                    {"type": "text", "data": {"text": " "}},
                ]
            segs.append({"type": "text", "data": {"text": p["text"]}})
            if p.get("quote"):  # the message it answers, shown as a quote
                segs.insert(0, {"type": "reply", "data": {"id": str(p["quote"])}})
            return "send_group_msg", {"group_id": int(p["group_id"]), "message": segs}
        if row.action == "image":
            msg = [images.onebot_segment(str(p["image"]))]
            return "send_group_msg", {"group_id": int(p["group_id"]), "message": msg}
        if row.action == "private_text":
            msg = [{"type": "text", "data": {"text": p["text"]}}]
            return "send_private_msg", {"user_id": int(p["user_id"]), "message": msg}
        if row.action == "kick":
            return "set_group_kick", {
                "group_id": int(p["group_id"]),
                "user_id": int(p["user_id"]),
                "reject_add_request": bool(p.get("reject", False)),
            }
        if row.action == "delete":
            return "delete_msg", {"message_id": int(p["message_id"])}
        raise Permanent(f"unknown action {row.action}")

    async def send(self, row: OutboxMessage) -> None:
        if not self.api_url:
            raise Permanent("onebot.api_url is not configured")
        try:
            action, params = self._call(row)
        except (KeyError, ValueError, TypeError) as exc:
            raise Permanent(f"bad payload: {exc}") from exc
        data = await _post_json(
            self.http, f"{self.api_url}/{action}", params, headers=self.headers, onebot=True
        )
        status = data.get("status")
        if status in ("ok", "async"):
            return  # carried out (or queued) by the bridge, whatever shape its retcode has
        retcode = data.get("retcode")
        reason = f"{status} retcode {retcode}: {data.get('msg') or data.get('wording') or ''}"
        if retcode in ONEBOT_REFUSED or row.attempts + 1 >= ONEBOT_FAILED_TRIES:
            raise Permanent(reason[:500])
        raise Retry(reason[:500])  # bridges answer "failed" for passing trouble too


class AibotUrlSender:
    """A 智能机器人 message's ``response_url``: one markdown answer, usable once, for 1 hour.

    A second answer to the same message, an expired or already used URL, or a message with no
    URL goes to the group's robot webhook instead (``fallback_key``) when the group has one.
    The URL comes from the callback's payload: only ``https`` on WeCom's host or the configured
    ``api_base`` host (scheme and port included) is called; any other is dropped with a log
    line and answered through the fallback (see ``reply_url_allowed``)."""

    URL_LIFE = timedelta(minutes=55)  # WeCom says one hour; keep a margin

    def __init__(
        self, http: aiohttp.ClientSession, api_base: str = "", clock: Clock | None = None
    ) -> None:
        self.http = http
        self.robot = WeComRobotSender(http, api_base) if api_base else None
        self.api_base = api_base
        self.clock = clock

    async def send(self, row: OutboxMessage) -> None:
        p = row.payload
        url = str(p.get("url", ""))
        now = self.clock.now() if self.clock else datetime.now(UTC)
        fresh = row.created_at is None or now - _aware(row.created_at) < self.URL_LIFE
        allowed = reply_url_allowed(url, self.api_base) if url else False
        if url and not allowed:
            host = URL(url).host if "://" in url else "?"
            log.warning(
                "aibot answer %s: response_url on %s is not WeCom's; not called", row.id, host
            )
        if url and fresh and allowed:
            body = {"msgtype": "markdown", "markdown": {"content": p["text"]}}
            data = await _post_json(self.http, url, body)
            code = int(data.get("errcode", -1))
            if code == 0:
                return
            if code in (-1, 45033):
                raise Retry(f"errcode {code}")
            reason = f"errcode {code}: {data.get('errmsg', '')}"
        elif url and not allowed:
            reason = "response_url is not on WeCom's host"
        else:
            reason = "response_url expired" if url else "no response_url"
        key = str(p.get("fallback_key", ""))
        if not key or self.robot is None:
            raise Permanent(reason)
        log.info("aibot answer %s: %s, sending through the group's robot", row.id, reason)
        via = OutboxMessage(action="markdown", target=key, payload={"text": p["text"]})
        await self.robot.send(via)


def _origin(url: URL) -> tuple[str, str, int | None]:
    return (url.scheme, (url.host or "").lower().rstrip("."), url.port)


def reply_url_allowed(url: str, api_base: str) -> bool:
    """True for ``https://qyapi.weixin.qq.com/…`` and for URLs on the configured ``api_base``
    (same scheme, host and port); never for URLs with credentials or an odd scheme. Parsed by
    yarl, the parser aiohttp itself uses, so the host checked is the host called."""
    try:
        u = URL(url)
        base = URL(api_base) if api_base else None
    except (ValueError, TypeError):
        return False
    if not u.is_absolute() or u.user is not None or u.password is not None:
        return False
    if _origin(u) == ("https", WECOM_HOST, 443):
        return True
    return base is not None and base.is_absolute() and _origin(u) == _origin(base)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def _post_json(
    http: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    onebot: bool = False,
) -> dict[str, Any]:
    try:
        # never follow a redirect: the host we checked is the only host we call
        async with http.post(
            url, json=body, params=params, headers=headers, timeout=TIMEOUT, allow_redirects=False
        ) as resp:
            if resp.status >= 500 or resp.status == 429:
                raise Retry(f"HTTP {resp.status}")
            if onebot and resp.status in (401, 403, 404, 406):
                raise Permanent(f"HTTP {resp.status} from the OneBot bridge")
            if resp.status >= 300:
                raise Permanent(f"HTTP {resp.status}")
            data = await resp.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise Retry(f"{type(exc).__name__}: {exc}") from exc
    except ValueError as exc:
        raise Retry(f"unreadable answer: {exc}") from exc
    if not isinstance(data, dict):
        raise Retry("unexpected answer")
    return data
