"""The core runs whatever features it is handed and nothing else: a feature it has never
heard of gets its config section (overridable per group, read typed), its command, its
template overrides, its periodic job, its dashboard page and tab, its CLI command and its
config checks; a feature left out of the list is not there at all."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot import (
    Bot,
    Config,
    ConfigLoader,
    Context,
    Feature,
    Job,
    Page,
    Router,
    Section,
    group_only,
    templates,
)
from bot.cli import main
from bot.config import ConfigError, parse_config
from bot.web.app import create_app
from bot.web_public import group_tabs, load_group, page
from handlers import FEATURES
from tests.fakes.clock import FakeClock
from tests.harness import BASE, Harness, merge

AUTH = {"Authorization": "Bearer test-api-token"}


class EchoConfig(Section):
    prefix: str = "回声"


router = Router("echo")
T_ECHO = templates.register("echo.say", "{prefix}：{text}", "prefix", "text", "group", "bot")
RUNS: list[str] = []


@router.command("回声", help="把话说回来", filters=(group_only,))
async def echo(ctx: Context) -> None:
    assert ctx.command is not None
    cfg = ctx.feature(EchoConfig)  # typed: the group's view of [echo]
    await ctx.reply(ctx.render(T_ECHO, prefix=cfg.prefix, text=ctx.command.raw_args))


async def echo_page(request: web.Request) -> web.Response:
    gid, name = await load_group(request)
    return page(request, "回声", group_tabs(request, gid, name) + "<p>echo page</p>")


async def tick(bot: Bot) -> None:
    RUNS.append(bot.instance_id)


def cmd_echo(args: argparse.Namespace, load: ConfigLoader) -> int:
    print(load(args.config).feature(EchoConfig).prefix)
    return 0


def register_cli(sub: Any, load: ConfigLoader) -> None:
    p = sub.add_parser("echo", help="print [echo] prefix")
    p.add_argument("-c", "--config", required=True)
    p.set_defaults(func=partial(cmd_echo, load=load))


def no_bad_prefix(config: Config) -> list[str]:
    bad = config.feature(EchoConfig).prefix == "bad"
    return ["echo.prefix: must not be 'bad'"] if bad else []


ECHO = Feature(
    name="echo",
    router=router,
    config=EchoConfig,
    templates=(T_ECHO,),
    jobs=(Job("echo-tick", tick, every_s=3600, at_start=True),),
    pages=(Page("/admin/groups/{gid}/echo", echo_page, tab="回声页"),),
    cli=register_cli,
    checks=(no_bad_prefix,),
)
WITH_ECHO = [*FEATURES, ECHO]


def echo_config(tmp_path: Path, extra: dict[str, Any]) -> Config:
    data = merge(BASE, {"storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'e.db'}"}, **extra})
    return parse_config(data, WITH_ECHO, environ={})


async def started(config: Config) -> Harness:
    clock = FakeClock()
    bot = Bot(config, clock, workers=False, migrate=False, console_sink=lambda _line: None)
    await bot.db.create_all()
    await bot.start()
    return Harness(bot, clock)


async def test_a_handed_in_feature_runs(
    tmp_path: Path, aiohttp_client: Callable[[web.Application], Awaitable[TestClient]]
) -> None:
    over = {"groups": [{**BASE["groups"][0], "echo": {"prefix": "一群"}}, BASE["groups"][1]]}
    cfg = echo_config(tmp_path, {"echo": {"prefix": "全局"}, **over})
    RUNS.clear()
    h = await started(cfg)
    try:
        assert len(RUNS) == 1  # at_start
        assert any(j.id == "echo-tick" for j in h.bot.jobs.states())
        assert await h.say("alice", "/回声 你好") == ["[g1] 🤖 一群：你好"]
        assert await h.say("bob", "/回声 嗨", group="g2") == ["[g2] 🤖 全局：嗨"]
        client = await aiohttp_client(create_app(h.bot, manage=False))
        resp = await client.get("/admin/groups/g1", headers=AUTH)
        assert resp.status == 200
        assert 'href="/admin/groups/g1/echo"' in await resp.text()
        resp = await client.get("/admin/groups/g1/echo", headers=AUTH)
        assert resp.status == 200 and "echo page" in await resp.text()
    finally:
        await h.bot.stop()


def test_feature_checks_and_template_overrides(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        echo_config(tmp_path, {"echo": {"prefix": "bad"}})
    assert exc.value.problems == ["echo.prefix: must not be 'bad'"]
    cfg = echo_config(tmp_path, {"templates": {"echo.say": "{prefix}>{text}"}})
    assert cfg.template_override("echo.say", "g1") == "{prefix}>{text}"


def test_a_feature_left_out_is_absent(tmp_path: Path) -> None:
    """Without echo, its table and its template overrides are unknown; without check-in,
    check-in's are."""
    data = {"echo": {"prefix": "x"}, "templates": {"echo.say": "{text}"}}
    with pytest.raises(ConfigError) as exc:
        parse_config(data, FEATURES, environ={})
    assert "echo: Extra inputs are not permitted" in exc.value.problems
    assert "templates.echo.say: unknown template" in exc.value.problems
    no_checkin = [f for f in FEATURES if f.name != "checkin"]
    with pytest.raises(ConfigError) as exc:
        parse_config({"checkin": {}, "templates": {"checkin.ok": "x"}}, no_checkin, environ={})
    assert "templates.checkin.ok: unknown template" in exc.value.problems
    assert parse_config({}, no_checkin, environ={}).features == tuple(no_checkin)


def test_cli_runs_a_feature_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[echo]\nprefix = "从文件"\n', encoding="utf-8")
    assert main(["echo", "-c", str(path)], WITH_ECHO, entry="handlers.app") == 0
    assert capsys.readouterr().out.strip() == "从文件"
    with pytest.raises(SystemExit) as exc:
        main(["echo", "-c", str(path)], FEATURES, entry="handlers.app")
    assert exc.value.code == 2
