"""One split for every channel: the byte limits each platform accepts, linear cutting, and a
cap on how many posts one message may become (PLATFORMS.md §4.1, §4.2, §5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import templates
from bot.outbox import merge, queue
from bot.outbox.queue import MAX_PARTS, limit, split
from bot.runtime import Bot
from handlers.programme.ticks import tick
from storage.models import OutboxMessage
from tests.fakes.clock import FakeClock
from tests.harness import make_config

WED_10 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("channel", "action", "bytes_"),
    [
        ("wecom_robot", "text", 2048),  # robot webhook text.content ≤ 2048 bytes
        ("wecom_robot", "markdown", 4096),  # robot webhook markdown.content ≤ 4096 bytes
        ("aibot", "markdown", 20480),  # 智能机器人 stream / response_url markdown ≤ 20480
        ("onebot", "text", 4500),  # no documented cap; QQ folds long messages
        ("onebot", "private_text", 4500),
        ("console", "text", 4096),
        ("console", "markdown", 4096),
    ],
)
def test_each_channel_cuts_at_its_own_limit(channel: str, action: str, bytes_: int) -> None:
    assert limit(channel, action) == bytes_
    fits = "福" * (bytes_ // 3)  # 3 bytes each, just within the limit
    assert split(channel, action, fits) == [fits]
    over = fits + "福"
    parts = split(channel, action, over)
    assert len(parts) == 2 and "".join(parts) == over
    assert all(len(p.encode()) <= bytes_ for p in parts)


def test_merge_uses_the_same_limit() -> None:
    def row(text: str, i: int) -> OutboxMessage:
        return OutboxMessage(
            id=i, channel="onebot", action="text", event_id=i, payload={"text": text}
        )

    rows = [row("x" * 2000, 1), row("y" * 2000, 2), row("z" * 2000, 3)]
    # 4500 bytes for OneBot: two texts (and their line breaks) fit, the third starts a new post
    assert [len(r) for r in merge.runs(rows)] == [2, 1]


def test_a_huge_text_becomes_at_most_max_parts_and_is_cut_linearly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encoded: list[int] = []
    real = queue._encode

    def counting(text: str) -> bytes:
        encoded.append(len(text))
        return real(text)

    monkeypatch.setattr(queue, "_encode", counting)
    text = "\n".join(f"第{i}行 " + "会员福利" * 30 for i in range(200_000))  # ~25 MB
    parts = split("onebot", "text", text)
    assert len(parts) == MAX_PARTS
    assert all(len(p.encode()) <= 4500 for p in parts)
    assert parts[-1].endswith("（内容过长，已截断）")
    # only the head that can be posted was encoded (plus the last piece, to fit the mark):
    # not the whole text, not again per cut
    assert sum(encoded) <= 2 * (MAX_PARTS * 4500 + 1)


def test_cutting_is_linear_in_the_text_without_a_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    encoded: list[int] = []
    real = queue._encode
    monkeypatch.setattr(queue, "_encode", lambda t: encoded.append(len(t)) or real(t))
    text = "福" * 300_000  # one line of 900 KB: the old cut re-encoded the rest per piece
    parts = queue.split_utf8(text, 2048)
    assert "".join(parts) == text and len(parts) == 440
    assert sum(encoded) == len(text)


def test_render_output_is_bounded() -> None:
    big = "签到" * 1_000_000
    out = templates.fill("榜单：{lines}！", {"lines": big})
    assert len(out) <= templates.MAX_OUTPUT + len(templates.CUT_MARK)
    assert out.startswith("榜单：签到") and out.endswith(templates.CUT_MARK)


@pytest.mark.parametrize(
    "text",
    ["{theme:x>25000000}", "{theme!r}", "{theme.__class__}", "{theme[0]}", "{}", "{0}", "{x"],
)
def test_only_named_fields_are_templates(text: str) -> None:
    with pytest.raises(templates.TemplateError):
        templates.fill(text, {"theme": "t"})


async def test_fanout_markdown_is_cut_at_4096_bytes(tmp_path: Path) -> None:
    body = "福" * 1200  # 3600 bytes: one WeCom markdown message, two text messages
    cfg = make_config(
        tmp_path,
        {
            "programme": {
                "slots": [
                    {"id": "md", "days": ["wed"], "time": "10:00", "content": body},
                    {
                        "id": "mdm",
                        "days": ["wed"],
                        "time": "10:00",
                        "content": body,
                        "markdown": True,
                    },
                ]
            },
            "groups": [{"id": "w1", "platform": "wecom", "name": "企微群", "webhook_key": "k1"}],
        },
    )
    clock = FakeClock(WED_10 + timedelta(seconds=1))
    bot = Bot(cfg, clock, workers=False, migrate=False, console_sink=lambda _l: None)
    await bot.db.create_all()
    await bot.start()
    await tick(bot)
    while await bot.dispatcher.run_once():  # handled and queued, not delivered
        pass
    async with bot.db.read() as s:
        rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.group_id == "w1"))).all()
    await bot.stop()
    got: dict[str, Any] = {}
    for r in rows:
        got.setdefault(r.action, []).append(len(r.payload["text"].encode()))
    assert got == {"text": [2046, 1554], "markdown": [3600]}
