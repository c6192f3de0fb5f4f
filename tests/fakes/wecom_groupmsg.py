"""The 企业群发 part of the WeCom API fake: ``add_msg_template`` and its follow-up calls, app
messages (``message/send``) and temporary media (``media/upload``). Shapes follow the
documentation (PLATFORMS.md §3.4): a task is made for ``sender``; chats the sender does not
own are in ``fail_list``; ``get_groupmsg_list_v2`` leaves ``creator`` out for tasks made
through the API (as WeCom does); ``get_groupmsg_task`` status 0 not sent / 2 sent;
``get_groupmsg_send_result`` status 0 / 1 sent / 2 failed / 3 already received another 群发.

``before_answer`` and ``after_create`` (a test sets them) run once the task is made, before
and after WeCom's answer to ``add_msg_template`` is written to the socket: a crash test stops
the bot before and kills it after, so it dies with the answer unread."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.wecom_api import FakeWeCom

BASE = "/cgi-bin/externalcontact"


class GroupMsg:
    def __init__(self, fake: FakeWeCom) -> None:
        self.fake = fake
        self.tasks: dict[str, dict[str, Any]] = {}
        self.app_messages: list[dict[str, Any]] = []
        self.uploads: list[str] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.before_answer: Callable[[], None] | None = None
        self.after_create: Callable[[], Awaitable[None]] | None = None
        self.agent_id = 1000002
        self._ids = itertools.count(1)
        r = fake.app.router
        for op in (
            "add_msg_template",
            "get_groupmsg_list_v2",
            "get_groupmsg_task",
            "get_groupmsg_send_result",
            "remind_groupmsg_send",
            "cancel_groupmsg_send",
        ):
            r.add_post(f"{BASE}/{op}", getattr(self, op))
        r.add_post("/cgi-bin/message/send", self.message_send)
        r.add_post("/cgi-bin/media/upload", self.media_upload)

    # -- what a test does as the owners ---------------------------------------------------------
    def owner_sends(self, msgid: str, already: set[str] | frozenset[str] = frozenset()) -> None:
        """The owner confirms the task: each chat gets it (3 for those in ``already``)."""
        t = self.tasks[msgid]
        t["owner_status"] = 2
        t["results"] = {c: (3 if c in already else 1) for c in t["chat_ids"]}

    def by_sender(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for t in self.tasks.values():
            out.setdefault(t["sender"], []).extend(t["chat_ids"])
        return out

    # -- plumbing -------------------------------------------------------------------------------
    async def _begin(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        body = json.loads(await request.read() or b"{}")
        self.calls.append((request.path.rsplit("/", 1)[-1], body))
        err = self.fake.token_error(request)
        if err is not None:
            return body, err
        queued = self.fake.customer.errcodes.get(request.path.removeprefix(f"{BASE}/"))
        if queued:
            return body, _err(queued.pop(0), "injected")
        return body, None

    def count(self, op: str) -> int:
        return sum(1 for p, _ in self.calls if p == op)

    def _task(self, body: dict[str, Any]) -> dict[str, Any] | None:
        return self.tasks.get(str(body.get("msgid", "")))

    async def _found(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response]:
        """The task a request names, or None and the error WeCom would answer."""
        body, err = await self._begin(request)
        if err is not None:
            return None, err
        t = self._task(body)
        if t is None:
            return None, _err(41063, "invalid msgid")
        return t, web.Response()

    # -- routes ---------------------------------------------------------------------------------
    async def add_msg_template(self, request: web.Request) -> web.StreamResponse:
        body, err = await self._begin(request)
        if err is not None:
            return err
        sender = str(body.get("sender", ""))
        content = str((body.get("text") or {}).get("content", ""))
        if body.get("chat_type") != "group" or not sender:
            return _err(40058, "invalid chat_type or sender")
        if not content and not body.get("attachments"):
            return _err(41048, "no content")
        if len(content.encode()) > 4000 or len(body.get("attachments") or ()) > 9:
            return _err(40058, "content exceed max length")
        chats = self.fake.customer.chats
        wanted = [str(c) for c in body.get("chat_id_list") or ()]
        ok = [c for c in wanted if c in chats and chats[c]["owner"] == sender]
        fail = [c for c in wanted if c not in ok]
        msgid = f"msg{next(self._ids)}"
        self.tasks[msgid] = {
            "sender": sender,
            "chat_ids": ok,
            "text": content,
            "attachments": body.get("attachments") or [],
            "create_time": int(self.fake.clock.time() if self.fake.clock else time.time()),
            "owner_status": 0,
            "results": dict.fromkeys(ok, 0),
            "cancelled": False,
            "reminded": 0,
        }
        resp = web.json_response({"errcode": 0, "errmsg": "ok", "fail_list": fail, "msgid": msgid})
        if self.before_answer is not None:
            self.before_answer()  # e.g. SIGSTOP the bot: it cannot act on the answer
            self.before_answer = None
        if self.after_create is None:
            return resp
        await resp.prepare(request)
        await resp.write_eof()  # WeCom has answered (and made the task)
        hook, self.after_create = self.after_create, None
        await hook()
        return resp

    async def get_groupmsg_list_v2(self, request: web.Request) -> web.Response:
        body, err = await self._begin(request)
        if err is not None:
            return err
        lo, hi = int(body.get("start_time", 0)), int(body.get("end_time", 2**40))
        rows = [
            {
                "msgid": m,
                "create_type": 0,
                "create_time": t["create_time"],
                "text": {"content": t["text"]},
            }
            for m, t in self.tasks.items()
            if lo <= t["create_time"] <= hi
        ]
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "next_cursor": "", "group_msg_list": rows}
        )

    async def get_groupmsg_task(self, request: web.Request) -> web.Response:
        t, err = await self._found(request)
        if t is None:
            return err
        row = {"userid": t["sender"], "status": t["owner_status"]}
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "next_cursor": "", "task_list": [row]}
        )

    async def get_groupmsg_send_result(self, request: web.Request) -> web.Response:
        t, err = await self._found(request)
        if t is None:
            return err
        rows = [{"chat_id": c, "userid": t["sender"], "status": s} for c, s in t["results"].items()]
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "next_cursor": "", "send_list": rows}
        )

    async def remind_groupmsg_send(self, request: web.Request) -> web.Response:
        t, err = await self._found(request)
        if t is None:
            return err
        t["reminded"] += 1
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def cancel_groupmsg_send(self, request: web.Request) -> web.Response:
        t, err = await self._found(request)
        if t is None:
            return err
        t["cancelled"] = True
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def message_send(self, request: web.Request) -> web.Response:
        body, err = await self._begin(request)
        if err is not None:
            return err
        if body.get("agentid") != self.agent_id:
            return _err(40056, "invalid agentid")
        content = str((body.get("text") or {}).get("content", ""))
        if body.get("msgtype") != "text" or not content or len(content.encode()) > 2048:
            return _err(40058, "invalid text")
        self.app_messages.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": ""})

    async def media_upload(self, request: web.Request) -> web.Response:
        err = self.fake.token_error(request)
        if err is not None:
            return err
        data = await request.read()
        self.calls.append(("media/upload", {"type": request.query.get("type", "")}))
        if not data:
            return _err(44001, "empty media data")
        media_id = f"media{next(self._ids)}"
        self.uploads.append(media_id)
        return web.json_response(
            {"errcode": 0, "errmsg": "", "type": "image", "media_id": media_id, "created_at": "1"}
        )


def _err(code: int, msg: str) -> web.Response:
    return web.json_response({"errcode": code, "errmsg": msg})
