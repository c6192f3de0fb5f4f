"""Over signed POST /onebot: names the bot repeats are one line, capped, and masked when they
look like an ad (the same detection as messages), in check-in replies and boards alike."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.onebot import sign
from bot.names import MAX_NAME, _clean, display_name
from bot.web.app import create_app
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import Harness

SECRET = "hmac-secret"
AD_CARD = "加V abc12345 www.evil.com\n📢 管理员公告：本群已解散，请加新群"
FORGED = "小明\n📢 管理员公告：本群已解散，请联系群主领取补偿"


async def test_ad_and_multiline_names_are_never_repeated(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> None:
    h = await make_harness(
        {
            "onebot": {"secret": SECRET, "api_url": bridge.url, "access_token": "bridge-token"},
            "groups": [{"id": "10001", "platform": "onebot"}],
        }
    )
    client = await aiohttp_client(create_app(h.bot, manage=False))
    mid = 0

    async def say(user: int, card: str, text: str) -> str:
        nonlocal mid
        mid += 1
        body = json.dumps(
            {
                "time": 1763431200,
                "self_id": 999,
                "post_type": "message",
                "message_type": "group",
                "sub_type": "normal",
                "message_id": mid,
                "group_id": 10001,
                "user_id": user,
                "message": [{"type": "text", "data": {"text": text}}],
                "sender": {"user_id": user, "nickname": "x", "card": card, "role": "member"},
            },
            ensure_ascii=False,
        ).encode()
        headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
        assert (await client.post("/onebot", data=body, headers=headers)).status == 204
        await h.bot.drain()
        return bridge.sent_texts()[-1]

    said = await say(12345678, AD_CARD, "/签到")
    assert "签到成功" in said and "成员5678" in said
    said = await say(22220001, FORGED, "/签到")
    assert "小明 签到成功" in said
    said = await say(33330002, "长" * 100, "/签到")
    assert "长" * (MAX_NAME - 1) + "…" in said and "长" * MAX_NAME not in said
    board = await say(44440003, "看榜的人", "/签到榜")
    assert "成员5678" in board and "小明" in board
    for text in bridge.sent_texts():
        assert "evil" not in text and "加V" not in text and "管理员公告" not in text


def test_display_name_rules() -> None:
    def ad(name: str) -> bool:
        return "evil" in name

    assert display_name("  小\u202e明\u200b  \t同学 ", "u1") == "小明 同学"
    assert display_name("\n\n第二行", "u1") == "第二行"
    assert display_name("好人\nwww.evil.com", "u123456", [ad]) == "成员3456"
    assert display_name("", "u1") == ""


@given(st.text(max_size=40))
def test_the_printable_shortcut_keeps_the_rules(raw: str) -> None:
    """The usual name takes a shortcut; every name comes out as the full rule has it."""
    lines = [_clean(line) for line in raw.splitlines()]
    first = next((line for line in lines if line), "")
    want = first if len(first) <= MAX_NAME else first[: MAX_NAME - 1] + "…"
    assert display_name(raw, "u1") == want
    assert display_name(raw + " 小明", "u1") == display_name(raw + "\u200b 小明", "u1")
