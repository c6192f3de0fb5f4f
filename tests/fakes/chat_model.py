"""A fake OpenAI-compatible chat endpoint (``POST /v1/chat/completions``) on 127.0.0.1 that
records every request and answers as told: a text, an HTTP error, or only once released."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer


class FakeChatModel(FakeServer):
    def __init__(self, answer: str = "优惠券在小程序「会员中心」领取哦～") -> None:
        super().__init__()
        self.answer = answer
        self.status = 200
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self.gate: asyncio.Event | None = None  # set: answers wait until it is set
        self.app.router.add_post("/v1/chat/completions", self.handle)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def hold(self) -> asyncio.Event:
        """Answers wait until the returned event is set (a slow model)."""
        self.gate = asyncio.Event()
        return self.gate

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        self.requests.append(body)
        self.auth.append(request.headers.get("Authorization", ""))
        if self.gate is not None:
            await self.gate.wait()
        if self.status != 200:
            return web.json_response({"error": {"message": "boom"}}, status=self.status)
        message = {"role": "assistant", "content": self.answer}
        return web.json_response({"choices": [{"index": 0, "message": message}]})

    def questions(self) -> list[str]:
        """The user message of every request."""
        return [m["content"] for r in self.requests for m in r["messages"] if m["role"] == "user"]
