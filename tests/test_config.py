"""Config loading: key paths in every error, env overrides, per-group feature overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, parse_config
from handlers import FEATURES
from handlers.app import main

ROOT = Path(__file__).resolve().parent.parent


def problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(data, FEATURES, environ={})
    return exc.value.problems


def test_example_config_is_valid() -> None:
    cfg = load_config(ROOT / "config.example.toml", FEATURES, environ={})
    assert cfg.groups and cfg.storage.url.startswith("sqlite+aiosqlite")


def test_errors_name_their_key_paths() -> None:
    out = problems(
        {
            "server": {"port": 70000, "max_connections": -1},
            "bot": {"timezone": "Mars/Olympus", "admin": []},
            "groups": [{"id": "a"}, {"id": "b", "platform": "telegram"}, {"id": "a"}],
            "wecom": {"encoding_aes_key": "short"},
            "templates": {"nope.key": "x", "core.refused": "{oops}"},
        }
    )
    text = "\n".join(out)
    for path in (
        "server.port:",
        "server.max_connections:",
        "bot.timezone:",
        "bot.admin:",
        "groups[1].platform:",
        "groups[2].id: duplicate",
        "wecom.encoding_aes_key:",
        "templates.nope.key: unknown template",
        "templates.core.refused: unknown variable {oops}",
    ):
        assert path in text, path


def test_env_overrides_secrets() -> None:
    cfg = parse_config(
        {"wecom": {"token": "file"}},
        FEATURES,
        environ={"GROUPBOT_WECOM__TOKEN": "fromenv", "GROUPBOT_WECOM__AIBOT__TOKEN": "ai"},
    )
    assert cfg.wecom.token == "fromenv" and cfg.wecom.aibot.token == "ai"


def test_group_template_override() -> None:
    cfg = parse_config(
        {
            "templates": {"core.unknown_command": "全局 {command}"},
            "groups": [{"id": "g", "templates": {"core.unknown_command": "本群 {command}"}}],
        },
        FEATURES,
        environ={},
    )
    assert cfg.template_override("core.unknown_command", "g") == "本群 {command}"
    assert cfg.template_override("core.unknown_command", "other") == "全局 {command}"


def test_check_config_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "-c", str(ROOT / "config.example.toml")]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[[groups]]\nid = "x"\nwebhook_key = 3\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["check-config", "-c", str(bad)])
    assert exc.value.code == 2
    assert "groups[0].webhook_key:" in capsys.readouterr().err
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["check-config", "-c", str(broken)])
    assert "not valid TOML" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc2:
        main(["check-config", "-c", str(tmp_path / "missing.toml")])
    assert exc2.value.code == 2
