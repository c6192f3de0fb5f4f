"""A fake OneBot v11 bridge (HTTP API) that records every action it is asked to do."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer

ACTIONS = {
    "send_group_msg",
    "send_private_msg",
    "send_msg",
    "set_group_kick",
    "delete_msg",
    "get_group_member_info",
    "get_group_member_list",
}


class FakeOneBot(FakeServer):
    """``POST /{action}`` with JSON; Bearer token checked when configured (401/403)."""

    def __init__(self, access_token: str = "") -> None:
        super().__init__()
        self.access_token = access_token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._fail: list[int] = []
        self._retcode: list[int] = []
        self._answers: list[dict[str, Any]] = []
        self._next_id = 1000
        self.app.router.add_post("/{action}", self.handle)

    def fail_next(self, n: int, status: int = 500) -> None:
        self._fail += [status] * n

    def retcode_next(self, n: int, retcode: int = 100) -> None:
        self._retcode += [retcode] * n

    def answer_next(self, *answers: dict[str, Any]) -> None:
        """The next send actions are carried out and answered with these JSON bodies."""
        self._answers += list(answers)

    async def handle(self, request: web.Request) -> web.Response:
        if self.access_token:
            auth = request.headers.get("Authorization", "")
            if not auth:
                return web.Response(status=401)
            if auth != f"Bearer {self.access_token}":
                return web.Response(status=403)
        action = request.match_info["action"]
        if action not in ACTIONS:
            return web.Response(status=404)
        if self._fail:
            return web.Response(status=self._fail.pop(0))
        try:
            params = json.loads(await request.read() or b"{}")
        except ValueError:
            return web.Response(status=400)
        if self._retcode:
            return web.json_response({"status": "failed", "retcode": self._retcode.pop(0)})
        self.calls.append((action, params))
        data: Any = None
        if action.startswith("send_"):
            self._next_id += 1
            data = {"message_id": self._next_id}
        if self._answers:
            return web.json_response(self._answers.pop(0))
        return web.json_response({"status": "ok", "retcode": 0, "data": data})

    @staticmethod
    def _text(message: Any) -> str:
        if isinstance(message, str):
            return message
        out = []
        for seg in message or []:
            if seg.get("type") == "text":
                out.append(seg["data"].get("text", ""))
            elif seg.get("type") == "at":
                out.append(f"@{seg['data'].get('qq')}")
        return "".join(out)

    def sent_texts(self, group_id: int | str | None = None) -> list[str]:
        """The text of every group message sent (optionally to one group)."""
        return [
            self._text(p.get("message"))
            for a, p in self.calls
            if a == "send_group_msg"
            and (group_id is None or str(p.get("group_id")) == str(group_id))
        ]

    def private_texts(self, user_id: int | str | None = None) -> list[str]:
        return [
            self._text(p.get("message"))
            for a, p in self.calls
            if a == "send_private_msg"
            and (user_id is None or str(p.get("user_id")) == str(user_id))
        ]

    def kicks(self) -> list[tuple[str, str]]:
        return [
            (str(p["group_id"]), str(p["user_id"])) for a, p in self.calls if a == "set_group_kick"
        ]
