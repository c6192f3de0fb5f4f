"""``groupbot report``: inactive members, VIP candidates, groups near capacity and dead
letters as aligned tables; bad arguments exit 2 with a one-line reason."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from handlers.app import main
from handlers.stats.cli import width
from storage.migrate import stamp
from storage.models import OutboxMessage
from tests.fakes.clock import FakeClock
from tests.harness import Harness

MakeHarness = Callable[..., Awaitable[Harness]]
WELCOME = {"welcome": {"capacity": 4, "near_capacity": 3}}


def write_config(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "report.toml"
    cfg.write_text(
        f"""
[storage]
url = "{url}"
[welcome]
capacity = 4
near_capacity = 3
[[groups]]
id = "g1"
platform = "console"
name = "测试群"
[[groups]]
id = "g2"
platform = "console"
name = "二群"
""",
        encoding="utf-8",
    )
    return cfg


def run(args: list[str]) -> int:
    """``groupbot …`` as the shell sees it: the exit code (argparse exits by raising)."""
    try:
        return main(args)
    except SystemExit as exc:
        return int(exc.code or 0)


def section(out: str, title: str) -> list[str]:
    """The lines of one report table (header, rule, rows)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("== ") and title in line)
    body = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        body.append(line)
    return body


async def seeded(make_harness: MakeHarness, tmp_path: Path) -> Path:
    # the CLI reads the real clock: play the story in the recent past
    h = await make_harness(WELCOME, clock=FakeClock(datetime.now(UTC) - timedelta(days=30)))
    await h.join("quiet", name="安静的人")
    await h.join("busy", name="忙碌者")
    await h.join("vip", name="大V", inviter="busy")
    await h.say("vip", "/签到", name="大V")
    await h.advance(days=28)
    await h.say("busy", "/签到", name="忙碌者")
    await h.say("vip", "/签到", name="大V")
    async with h.bot.db.transaction() as s:
        s.add(
            OutboxMessage(
                idem_key="dead-1",
                group_id="g1",
                channel="wecom_robot",
                target="k",
                action="text",
                payload={"text": "x"},
                status="dead",
                attempts=5,
                next_attempt_at=h.clock.now(),
                last_error="93000: invalid webhook url",
                created_at=h.clock.now(),
            )
        )
    await stamp(h.bot.db)  # the harness made its schema with create_all
    return write_config(tmp_path, h.bot.config.storage.url)


async def test_report_tables(
    make_harness: MakeHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await seeded(make_harness, tmp_path)
    assert await asyncio.to_thread(run, ["report", "-c", str(cfg), "--days", "14"]) == 0
    out = capsys.readouterr().out
    idle = section(out, "g1: inactive members")
    assert "14 days" in out.splitlines()[out.splitlines().index(idle[0]) - 1]
    assert [line.split()[0] for line in idle[2:]] == ["quiet"]
    assert "安静的人" in idle[2] and "never" in idle[2]
    assert len({width(line) for line in idle}) == 1  # right-aligned last column: all as wide
    vip = section(out, "g1: VIP candidates")
    assert [line.split()[0] for line in vip[2:]] == ["vip", "busy"]
    assert vip[2].split()[-3:] == ["2", "0", "2"] and vip[3].split()[-3:] == ["1", "0", "1"]
    assert len({width(line) for line in vip}) == 1
    cap = section(out, "near capacity")
    assert cap[2].split()[:3] == ["g1", "测试群", "3"] and cap[2].split()[-1] == "near"
    assert len(cap) == 3  # g2 is empty
    dead = section(out, "dead letters")
    assert "93000: invalid webhook url" in dead[2]
    assert "(none)" in section(out, "g2: inactive members")[0]


async def test_report_one_group_and_bad_arguments(
    make_harness: MakeHarness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await seeded(make_harness, tmp_path)
    assert await asyncio.to_thread(run, ["report", "-c", str(cfg), "--group", "g2"]) == 0
    out = capsys.readouterr().out
    assert "g2: inactive members" in out and "g1:" not in out
    for args, reason in (
        (["--days", "0"], "--days"),
        (["--days", "abc"], "--days"),
        (["--group", "nope"], "unknown group nope"),
    ):
        code = await asyncio.to_thread(run, ["report", "-c", str(cfg), *args])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and reason in err[-1], (args, err)
    missing = await asyncio.to_thread(run, ["report", "-c", str(tmp_path / "nope.toml")])
    assert missing == 2
