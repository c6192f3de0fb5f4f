"""The customer-group part of the WeCom API fake (客户联系): group chats, join ways, welcome
templates. Shapes and errcodes follow the documentation (PLATFORMS.md §3.2): every call needs a
valid ``access_token`` (40014/42001 otherwise), an unknown chat is 90501 (not a customer group),
``invitor`` appears only for members a staff member invited, ``state`` only for joins through a
join way, ``name`` only with ``need_name: 1``; ``member_version`` changes with every change."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.wecom_api import FakeWeCom

BASE = "/cgi-bin/externalcontact"


class CustomerGroups:
    def __init__(self, fake: FakeWeCom) -> None:
        self.fake = fake
        self.chats: dict[str, dict[str, Any]] = {}
        self.join_ways: dict[str, dict[str, Any]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.errcodes: dict[str, list[int]] = {}  # path → errcodes to answer next
        self.ip_untrusted = False
        self.token_delay_s = 0.0
        self._ids = itertools.count(1)
        r = fake.app.router
        r.add_post(f"{BASE}/groupchat/get", self.get)
        r.add_post(f"{BASE}/groupchat/list", self.list)
        r.add_post(f"{BASE}/groupchat/add_join_way", self.add_join_way)
        r.add_post(f"{BASE}/groupchat/get_join_way", self.get_join_way)
        r.add_post(f"{BASE}/groupchat/del_join_way", self.del_join_way)
        r.add_post(f"{BASE}/groupchat/update_join_way", self.update_join_way)
        for op in ("add", "edit", "get", "del"):
            r.add_post(f"{BASE}/group_welcome_template/{op}", self.template)

    # -- state a test sets up -------------------------------------------------------------------
    def add_chat(self, chat_id: str, name: str = "客户群", owner: str = "staff1") -> None:
        self.chats[chat_id] = {"name": name, "owner": owner, "members": {}, "ver": 0}

    def add_member(
        self,
        chat_id: str,
        userid: str,
        join_time: int,
        *,
        invitor: str = "",
        state: str = "",
        name: str = "",
        join_scene: int = 1,
        type_: int = 2,
    ) -> None:
        m: dict[str, Any] = {
            "userid": userid,
            "type": type_,
            "join_time": join_time,
            "join_scene": join_scene,
            "group_nickname": "",
            "name": name or userid,
        }
        if invitor:
            m["invitor"] = {"userid": invitor}
        if state:
            m["state"] = state
        chat = self.chats[chat_id]
        chat["members"][userid] = m
        chat["ver"] += 1

    def open_room(self, config_id: str, chat_id: str) -> str:
        """Every group of the join way is full and it has ``auto_create_room``: WeCom opens
        ``chat_id``, named ``room_base_name`` and the next number (from ``room_base_id``), owned
        by the owner of the way's last group, and adds it to the way's ``chat_id_list``."""
        way = self.join_ways[config_id]
        assert way.get("auto_create_room") == 1
        base, first = str(way.get("room_base_name", "")), int(way.get("room_base_id", 1))
        n = first + sum(1 for c in self.chats.values() if c.get("way") == config_id)
        owner = self.chats[way["chat_id_list"][-1]]["owner"]
        self.add_chat(chat_id, name=f"{base}{n}", owner=owner)
        self.chats[chat_id]["way"] = config_id
        way["chat_id_list"] = [*way["chat_id_list"], chat_id]
        return chat_id

    def remove_member(self, chat_id: str, userid: str) -> None:
        chat = self.chats[chat_id]
        chat["members"].pop(userid, None)
        chat["ver"] += 1

    def version(self, chat_id: str) -> str:
        chat = self.chats[chat_id]
        return hashlib.md5(f"{chat_id}:{chat['ver']}".encode()).hexdigest()

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.calls if p.endswith(path))

    # -- plumbing -----------------------------------------------------------------------------
    async def _begin(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        body = json.loads(await request.read() or b"{}")
        path = request.path.removeprefix(f"{BASE}/")
        self.calls.append((path, body))
        if self.ip_untrusted:
            return body, _err(60020, "not allow to access from your ip")
        err = self.fake.token_error(request)
        if err is not None:
            return body, err
        queued = self.errcodes.get(path)
        if queued:
            return body, _err(queued.pop(0), "injected")
        return body, None

    # -- routes -------------------------------------------------------------------------------
    async def get(self, request: web.Request) -> web.Response:
        body, err = await self._begin(request)
        if err is not None:
            return err
        chat_id = str(body.get("chat_id", ""))
        if chat_id not in self.chats:
            return _err(90501, "not external group chat")
        chat = self.chats[chat_id]
        members = []
        for m in chat["members"].values():
            item = dict(m)
            if not body.get("need_name"):
                item.pop("name", None)
            members.append(item)
        group = {
            "chat_id": chat_id,
            "name": chat["name"],
            "owner": chat["owner"],
            "create_time": 1_700_000_000,
            "notice": "",
            "member_list": members,
            "admin_list": [],
            "member_version": self.version(chat_id),
        }
        return web.json_response({"errcode": 0, "errmsg": "ok", "group_chat": group})

    async def list(self, request: web.Request) -> web.Response:
        body, err = await self._begin(request)
        if err is not None:
            return err
        ids = sorted(self.chats)
        limit = int(body.get("limit", 100))
        if not 1 <= limit <= 1000:
            return _err(40058, "invalid limit")
        start = int(body.get("cursor") or 0)
        page = ids[start : start + limit]
        nxt = str(start + limit) if start + limit < len(ids) else ""
        chats = [{"chat_id": c, "status": 0} for c in page]
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "group_chat_list": chats, "next_cursor": nxt}
        )

    async def add_join_way(self, request: web.Request) -> web.Response:
        body, err = await self._begin(request)
        if err is not None:
            return err
        if body.get("scene") not in (1, 2):
            return _err(40058, "invalid scene")
        chats = body.get("chat_id_list") or []
        if not chats or len(chats) > 5 or any(c not in self.chats for c in chats):
            return _err(40058, "invalid chat_id_list")
        if len(str(body.get("state", ""))) > 30:
            return _err(40058, "state exceed max length 30")
        config_id = f"cfg{next(self._ids)}"
        self.join_ways[config_id] = dict(body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "config_id": config_id})

    async def get_join_way(self, request: web.Request) -> web.Response:
        body, err = await self._begin(request)
        if err is not None:
            return err
        config_id = str(body.get("config_id", ""))
        way = self.join_ways.get(config_id)
        if way is None:
            return _err(41044, "invalid config_id")
        qr = f"https://wework.qpic.cn/wwpic/{config_id}.png"
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "join_way": {**way, "config_id": config_id, "qr_code": qr},
            }
        )

    async def update_join_way(self, request: web.Request) -> web.Response:
        body, err = await self._begin(request)
        if err is not None:
            return err
        config_id = str(body.get("config_id", ""))
        if config_id not in self.join_ways:
            return _err(41044, "invalid config_id")
        chats = body.get("chat_id_list") or []
        if not chats or len(chats) > 5 or any(c not in self.chats for c in chats):
            return _err(40058, "invalid chat_id_list")
        self.join_ways[config_id] = {k: v for k, v in body.items() if k != "config_id"}
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def del_join_way(self, request: web.Request) -> web.Response:
        body, err = await self._begin(request)
        if err is not None:
            return err
        if self.join_ways.pop(str(body.get("config_id", "")), None) is None:
            return _err(41044, "invalid config_id")
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def template(self, request: web.Request) -> web.Response:
        body, err = await self._begin(request)
        if err is not None:
            return err
        op = request.path.rsplit("/", 1)[-1]
        if op == "add":
            content = str((body.get("text") or {}).get("content", ""))
            if not content or len(content.encode()) > 4000:
                return _err(40058, "text.content invalid")
            tid = f"tpl{next(self._ids)}"
            self.templates[tid] = {"text": {"content": content}}
            return web.json_response({"errcode": 0, "errmsg": "ok", "template_id": tid})
        tid = str(body.get("template_id", ""))
        if tid not in self.templates:
            return _err(41051, "invalid template_id")
        if op == "edit":
            self.templates[tid] = {"text": body.get("text") or {}}
        elif op == "del":
            del self.templates[tid]
        else:
            return web.json_response({"errcode": 0, "errmsg": "ok", **self.templates[tid]})
        return web.json_response({"errcode": 0, "errmsg": "ok"})


def _err(code: int, msg: str) -> web.Response:
    return web.json_response({"errcode": code, "errmsg": msg})
