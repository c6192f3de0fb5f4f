"""WeCom's caps on 企业群发 to one customer group: the programme preview, the week page and
``check-config`` warn when a month's key slots exceed them; at send time the slots over the
monthly cap go out as staff reminders to each group's owner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.config import parse_config
from bot.web.app import create_app
from handlers import FEATURES
from handlers.app import main
from handlers.programme.caps import excesses
from tests.fakes.wecom_api import FakeWeCom
from tests.harness import Harness
from tests.test_groupmsg import AUTH, GROUPS, KEY_SLOT, config, fake, owner_of, start, step

__all__ = ["fake"]

TOML = """
[wecom]
corp_id = "wwcorp"
secret = "s"
agent_id = 1000002
[programme]
slots = [{{ id = "benefit", days = ["{days}"], time = "10:00", content = "福利日", key = true }}]
[[groups]]
id = "wrA"
platform = "wecom"
groupmsg = {{ owner = "staff0" }}
[[groups]]
id = "wrRobot"
platform = "wecom"
webhook_key = "k"
"""


def raw(days: str) -> dict[str, Any]:
    slot = {**KEY_SLOT, "days": [days]}
    return {
        "wecom": {"corp_id": "wwcorp", "secret": "s", "agent_id": 1},
        "programme": {"slots": [slot]},
        "groups": [
            {"id": "wrA", "platform": "wecom", "groupmsg": {"owner": "staff0"}},
            {"id": "wrRobot", "platform": "wecom", "webhook_key": "k"},
        ],
    }


def test_five_wednesdays_in_december_exceed_the_monthly_cap() -> None:
    cfg = parse_config(raw("wed"), FEATURES, environ={})
    got = excesses(cfg, [date(2026, 11, 1), date(2026, 12, 1)])
    # November 2026 has 4 Wednesdays (fits), December 5; the robot group is not counted
    assert [e.english() for e in got] == [
        "groups[0] (wrA): 5 key slots in 2026-12 exceed groupmsg.month_cap 4; "
        "those over it go out as staff reminders"
    ]
    assert "超过上限 4" in got[0].chinese()
    over = {
        **raw("wed"),
        "groups": [{"id": "wrA", "platform": "wecom", "groupmsg": {"owner": "s", "month_cap": 5}}],
    }
    assert excesses(parse_config(over, FEATURES, environ={}), [date(2026, 12, 1)]) == []


def test_check_config_and_programme_show_warn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text(TOML.format(days="daily"), encoding="utf-8")
    assert main(["check-config", "-c", str(cfg)]) == 0  # usable: a warning, not an error
    out = capsys.readouterr().out
    assert "warning: groups[0] (wrA):" in out and "exceed groupmsg.month_cap 4" in out
    assert "wrRobot" not in out
    nobody = TOML.format(days="wed").replace('groupmsg = { owner = "staff0" }\n', "")
    cfg.write_text(nobody, encoding="utf-8")
    assert main(["check-config", "-c", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "warning: groups[0] (wrA): a WeCom group without webhook_key or groupmsg.owner" in out
    assert "month_cap" not in out  # not a customer group: no caps to count
    cfg.write_text(TOML.format(days="wed"), encoding="utf-8")
    assert main(["programme", "show", "-c", str(cfg), "--week", "2026-12-02"]) == 0
    out = capsys.readouterr().out
    assert "warning: groups[0] (wrA): 5 key slots in 2026-12 exceed groupmsg.month_cap 4" in out
    assert main(["programme", "show", "-c", str(cfg), "--week", "2026-11-18"]) == 0
    assert "warning" not in capsys.readouterr().out


def test_missing_agent_id_is_a_config_error_with_its_key_path() -> None:
    data = raw("wed")
    data["wecom"] = {"corp_id": "wwcorp", "secret": "s"}
    with pytest.raises(Exception, match=r"wecom\.agent_id: required .*groups\[0\] \(wrA\)"):
        parse_config(data, FEATURES, environ={})


async def test_over_the_monthly_cap_slots_become_reminders_to_the_right_owners(
    fake: FakeWeCom,
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    thursday = {**KEY_SLOT, "id": "thu", "days": ["thu"], "content": "周四上新"}
    h = await start(make_harness, fake, config(fake, [KEY_SLOT, thursday], month_cap=1))
    await step(h.bot, h.clock, 90)
    await step(h.bot, h.clock, 30)
    assert len(fake.groupmsg.tasks) == 3 and not fake.groupmsg.app_messages
    await step(h.bot, h.clock, 24 * 3600)  # Thursday 10:00:30: the month's one is used
    await step(h.bot, h.clock, 30)
    assert len(fake.groupmsg.tasks) == 3
    new = [m for m in fake.groupmsg.app_messages if "周四上新" in m["text"]["content"]]
    assert len(new) == 30
    for m in new:
        gid = m["text"]["content"].split("客户群")[2][:5]
        assert m["touser"] == owner_of(gid)
    client = await aiohttp_client(create_app(h.bot))
    q = {"from": "2026-11-19T09:00:00+08:00", "to": "2026-11-19T12:00:00+08:00"}
    r = await client.get(f"/api/groups/{GROUPS[4]}/programme", params=q, headers=AUTH)
    occ = (await r.json())["occurrences"][0]
    assert occ["channel"] == "reminder" and occ["delivery"] == "reminded"
    assert occ["reason"] == "month cap 1 reached"
    page = await (await client.get(f"/admin/groups/{GROUPS[4]}/programme", headers=AUTH)).text()
    assert "超过上限 1" in page  # the week's key slots (2) exceed the monthly cap of 1
