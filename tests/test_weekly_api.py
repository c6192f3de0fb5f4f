"""``GET /api/reports/weekly`` and the console's 周报 page over real HTTP: the download holds
the figures the post showed (JSON, CSV, XLSX), past weeks are computed on demand, bad weeks
and formats are a 400 naming the parameter, the token is needed; bad ``[weekly]`` config is a
clear error naming its key."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiohttp.test_utils import TestClient

from bot.config import ConfigError, parse_config
from bot.web.app import create_app
from handlers import FEATURES
from handlers.app import main
from handlers.matrix import FIGURES, LABELS
from handlers.weekly.text import delta, value
from tests.fakes.onebot_bridge import FakeOneBot
from tests.harness import BASE, Harness, merge
from tests.weeklykit import ADMIN_GROUP, AUTH, config, local, seed

Setup = tuple[Harness, TestClient, FakeOneBot]
SHOWN = [f for f in FIGURES if f not in ("active", "checked_in", "posts", "reached")]


@pytest.fixture
async def setup(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> Setup:
    h = await make_harness(config(bridge))
    await seed(h)
    h.clock.set(local(2026, 11, 30, 9))
    await h.run_jobs()
    client = await aiohttp_client(create_app(h.bot, manage=False))
    return h, client, bridge


async def get(client: TestClient, query: str = "", status: int = 200) -> Any:
    r = await client.get("/api/reports/weekly" + query, headers=AUTH)
    assert r.status == status, await r.text()
    return await r.json()


async def test_the_download_has_the_posts_figures(setup: Setup) -> None:
    _, client, bridge = setup
    (text,) = bridge.sent_texts(ADMIN_GROUP)
    body = await get(client)  # the latest full week by default
    assert body["week"] == "2026-W48" and body["previous"]["week"] == "2026-W47"
    assert body["posted"]["targets"] == [ADMIN_GROUP]
    assert body == {**await get(client, "?week=2026-W48&format=json")}
    t = body["total"]
    assert (t["groups"], t["figures"]["members"], t["before"]["members"]) == (4, 6, 4)
    assert t["change"]["leave_rate"] == pytest.approx(0.05)
    assert [s["tag"] for s in body["by_tag"]] == ["宝妈", "VIP"]
    assert [g["id"] for g in body["top"]] == ["g2"] and body["rank_by"] == "active_rate"
    # every figure the post shows, for every section, is the download's
    for s in [t, *body["by_tag"]]:
        for f in SHOWN:
            shown = f"{LABELS[f]} {value(f, s['figures'][f])}（{delta(f, s['change'][f])}）"
            assert shown in text, (s["tag"], shown)
    g1 = next(g for g in body["groups"] if g["id"] == "g1")
    assert g1["figures"]["valid_invites"] == 1 and g1["before"]["members"] == 2


async def test_csv_and_xlsx_match_the_json(setup: Setup) -> None:
    _, client, _ = setup
    body = await get(client, "?week=2026-W48")
    r = await client.get("/api/reports/weekly?week=2026-W48&format=csv", headers=AUTH)
    assert r.status == 200 and "weekly-2026-W48.csv" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO((await r.read()).decode("utf-8-sig"))))
    header, lines = rows[0], rows[1:]
    assert header[:5] == ["类别", "名称", "群ID", "标签", "群数"]
    assert [line[0] for line in lines] == ["全部", "标签", "标签", *["群"] * 4]
    col = header.index("退群率·变化")
    assert float(lines[0][col]) == pytest.approx(body["total"]["change"]["leave_rate"])
    col = header.index("成员·上周")
    assert int(lines[1][col]) == body["by_tag"][0]["before"]["members"]
    r = await client.get("/api/reports/weekly?week=2026-W48&format=xlsx", headers=AUTH)
    assert r.status == 200
    ws = openpyxl.load_workbook(io.BytesIO(await r.read())).active
    assert ws is not None
    cells = [list(row) for row in ws.iter_rows(values_only=True)]
    assert cells[0] == header
    assert cells[1][header.index("成员")] == body["total"]["figures"]["members"]


async def test_a_past_week_is_computed_on_demand(setup: Setup) -> None:
    _, client, _ = setup
    body = await get(client, "?week=2026-W47")
    assert body["posted"] is None  # never posted, still downloadable
    assert body["total"]["figures"]["members"] == 4 and body["total"]["before"]["members"] == 0
    assert body["total"]["figures"]["joins"] == 5


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("?week=2026-48", "week"),
        ("?week=2026-W60", "week"),
        ("?week=2026-W49", "not ended"),
        ("?format=pdf", "format"),
    ],
)
async def test_bad_parameters_are_400(setup: Setup, query: str, word: str) -> None:
    _, client, _ = setup
    body = await get(client, query, status=400)
    assert word in body["error"]


async def test_needs_the_token(setup: Setup) -> None:
    _, client, _ = setup
    assert (await client.get("/api/reports/weekly")).status == 401


async def test_console_page_and_downloads(setup: Setup) -> None:
    _, client, bridge = setup
    r = await client.get("/admin/weekly", headers=AUTH)
    html = await r.text()
    assert r.status == 200 and "周报 2026-W48" in html and 'data-posted="1"' in html
    assert 'data-table="sections"' in html and 'data-week="prev"' in html
    assert 'data-week="next"' not in html  # W49 has not ended
    assert "宝妈一群" in html and "-25.0个百分点" in html
    r = await client.get("/admin/weekly?week=2026-W47", headers=AUTH)
    html = await r.text()
    assert 'data-posted="0"' in html and 'data-week="next"' in html
    r = await client.get("/admin/weekly.csv?week=2026-W48", headers=AUTH)
    api = await client.get("/api/reports/weekly?week=2026-W48&format=csv", headers=AUTH)
    assert r.status == 200 and await r.read() == await api.read()
    r = await client.get("/admin/weekly?week=nope", headers=AUTH)
    assert r.status == 400
    nav = await (await client.get("/admin/", headers=AUTH)).text()
    assert 'href="/admin/weekly"' in nav
    assert len(bridge.sent_texts(ADMIN_GROUP)) == 1  # reading never posts


def problems(weekly: dict[str, Any], **extra: Any) -> list[str]:
    data = merge(BASE, {"weekly": weekly, **extra})
    with pytest.raises(ConfigError) as exc:
        parse_config(data, FEATURES, environ={})
    return exc.value.problems


def test_bad_config_names_the_key() -> None:
    assert any(p.startswith("weekly: enabled needs group") for p in problems({"enabled": True}))
    assert problems({"group": "nope"}) == ["weekly.group: 'nope' is not in [[groups]]"]
    assert problems({"alerts": True}) == ["weekly.alerts: [bot] alert_group is not set"]
    assert problems({"time": "25:00"})[0].startswith("weekly.time:")
    assert problems({"weekday": "monday"})[0].startswith("weekly.weekday:")
    assert problems({"rank_by": "fun"})[0].startswith("weekly.rank_by: ")
    assert problems({"tags": ["a", "a"]})[0].startswith("weekly.tags:")
    assert problems({"console_url": "ftp://x"})[0].startswith("weekly.console_url:")
    assert problems({"grace_hours": 200})[0].startswith("weekly.grace_hours:")
    groups = [{"id": "g1", "platform": "console", "weekly": {"time": "10:00"}}]
    assert problems({}, groups=groups) == [
        "groups[0].weekly: the weekly summary is set once, in [weekly]"
    ]
    assert problems({"templates": 1}) == ["weekly.templates: Extra inputs are not permitted"]
    bad = merge(BASE, {"templates": {"weekly.section": "{members.x}"}})
    with pytest.raises(ConfigError) as exc:
        parse_config(bad, FEATURES, environ={})
    assert exc.value.problems[0].startswith("templates.weekly.section:")


def test_check_config_cli_says_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bot.toml"
    path.write_text(
        '[bot]\napi_token = "x"\n[[groups]]\nid = "g1"\nplatform = "console"\n'
        '[weekly]\nenabled = true\ngroup = "g9"\n',
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as exc:
        main(["check-config", "-c", str(path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "weekly.group: 'g9' is not in [[groups]]" in err and "Traceback" not in err


async def test_configured_tags_choose_the_groups_and_sections(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    bridge: FakeOneBot,
) -> None:
    h = await make_harness(config(bridge, tags=["VIP"], rank_by="members"))
    await seed(h)
    h.clock.set(local(2026, 11, 30, 9))
    client = await aiohttp_client(create_app(h.bot, manage=False))
    body = await get(client, "?week=2026-W48")
    assert [g["id"] for g in body["groups"]] == ["g2"]
    assert [s["tag"] for s in body["by_tag"]] == ["VIP"]
    assert body["total"]["groups"] == 1 and body["total"]["figures"]["members"] == 2
    assert body["rank_by"] == "members" and [g["id"] for g in body["top"]] == ["g2"]
    assert body["bottom"] == []  # one group: nothing left for the weakest
