"""OneBot groups need signed pushes.

Rules checked (bot/config.py, bot/web/ingest.py):
- ``[onebot] secret = ""`` with OneBot groups configured is refused by ``check-config`` and by
  ``serve`` (exit 2, the key path named) — a forged ``role=owner`` event would otherwise be
  accepted from anyone who reaches POST /onebot.
- The secret may come from the environment; ``[onebot] allow_unsigned = true`` accepts
  unsigned pushes on purpose and is warned about loudly when the app starts.
- Console-only configs (the example) need no secret.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from bot.config import ConfigError, parse_config
from bot.web.app import create_app
from handlers import FEATURES
from handlers.app import main
from tests.harness import Harness
from tests.reliability.serve import group_message

ONEBOT_GROUP = '[[groups]]\nid = "60001"\nplatform = "onebot"\n'
BRIDGE = 'api_url = "http://127.0.0.1:5700"\n'


def write(tmp_path: Path, body: str) -> str:
    cfg = tmp_path / "bot.toml"
    db = tmp_path / "bot.db"
    cfg.write_text(f'[storage]\nurl = "sqlite+aiosqlite:///{db}"\n{body}', encoding="utf-8")
    return str(cfg)


@pytest.mark.parametrize("command", ["check-config", "serve"])
def test_onebot_groups_without_secret_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    cfg = write(tmp_path, '[onebot]\nsecret = ""\n' + BRIDGE + ONEBOT_GROUP)
    with pytest.raises(SystemExit) as exc:
        main([command, "-c", cfg])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "onebot.secret:" in err and "allow_unsigned" in err


def test_secret_from_the_environment_or_explicit_allow_is_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {"groups": [{"id": "60001", "platform": "onebot"}]}
    with pytest.raises(ConfigError):
        parse_config(data, FEATURES, environ={})
    assert (
        parse_config(data, FEATURES, environ={"GROUPBOT_ONEBOT__SECRET": "s"}).onebot.secret == "s"
    )
    allowed = write(tmp_path, "[onebot]\nallow_unsigned = true\n" + BRIDGE + ONEBOT_GROUP)
    assert main(["check-config", "-c", allowed]) == 0
    console_only = write(tmp_path, '[[groups]]\nid = "demo"\n')
    assert main(["check-config", "-c", console_only]) == 0


async def test_allow_unsigned_is_warned_about_and_works(
    make_harness: Callable[..., Awaitable[Harness]],
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = await make_harness(
        {
            "onebot": {"allow_unsigned": True},
            "groups": [{"id": "60001", "platform": "onebot", "name": "明文群"}],
        }
    )
    with caplog.at_level(logging.WARNING, logger="groupbot.web"):
        client = await aiohttp_client(create_app(h.bot, manage=False))
    assert any("allow_unsigned = true" in r.getMessage() for r in caplog.records)
    body = group_message(60001, 7, 1, "/帮助")
    r = await client.post("/onebot", data=body, headers={"Content-Type": "application/json"})
    assert r.status == 204
    assert json.loads(body)["group_id"] == 60001
