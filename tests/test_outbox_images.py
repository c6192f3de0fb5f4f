"""Images and quotes at the platform edge (real HTTP on 127.0.0.1): a WeCom robot gets a local
image as base64 + MD5 and a URL as a news card, an oversize or missing file is a permanent
failure; a OneBot bridge gets image segments and a reply segment quoting the question."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import aiohttp
import pytest

from bot.outbox.senders import OneBotSender, Permanent, WeComRobotSender
from storage.models import OutboxMessage
from tests.fakes.onebot_bridge import FakeOneBot
from tests.fakes.wecom_api import FakeWeCom


def row(action: str, **payload: object) -> OutboxMessage:
    return OutboxMessage(action=action, target="key-1", payload=payload, attempts=0)


async def test_wecom_robot_images(tmp_path: Path) -> None:
    pic = tmp_path / "coupon.png"
    pic.write_bytes(b"\x89PNG coupon")
    big = tmp_path / "big.png"
    big.write_bytes(b"0" * (2 * 1024 * 1024 + 1))
    async with FakeWeCom() as wecom, aiohttp.ClientSession() as http:
        sender = WeComRobotSender(http, wecom.url)
        await sender.send(row("image", image=str(pic)))
        await sender.send(row("image", image="https://cdn.example.com/c.png"))
        for bad in (str(big), str(tmp_path / "gone.png")):
            with pytest.raises(Permanent):
                await sender.send(row("image", image=bad))
        bodies = [body for _key, body, _at in wecom.webhook_calls]
    data = pic.read_bytes()
    assert bodies[0] == {
        "msgtype": "image",
        "image": {"base64": base64.b64encode(data).decode(), "md5": hashlib.md5(data).hexdigest()},
    }
    article = {"title": "图片", "url": "https://cdn.example.com/c.png"}
    assert bodies[1] == {
        "msgtype": "news",
        "news": {"articles": [{**article, "picurl": "https://cdn.example.com/c.png"}]},
    }
    assert len(bodies) == 2  # nothing was sent for the bad files


async def test_onebot_images_and_quotes(tmp_path: Path) -> None:
    pic = tmp_path / "c.png"
    pic.write_bytes(b"png")
    async with FakeOneBot() as bridge, aiohttp.ClientSession() as http:
        sender = OneBotSender(http, bridge.url, "")
        await sender.send(row("image", image=str(pic), group_id="10001"))
        await sender.send(row("text", text="答", quote="77", group_id="10001"))
    assert [p["message"] for _a, p in bridge.calls] == [
        [{"type": "image", "data": {"file": pic.as_uri()}}],
        [{"type": "reply", "data": {"id": "77"}}, {"type": "text", "data": {"text": "答"}}],
    ]
