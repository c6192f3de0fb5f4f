"""The deployment files hold together: every ``GROUPBOT_…`` variable that compose.yaml, the
Dockerfile and docs/deploy.md set names a real config key (a typo would be silently ignored by the
bot), the image's config path is where compose mounts it, every relative link in README.md and
docs/ points at a file of this repository, and the image builds where Docker runs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from handlers import FEATURES

ROOT = Path(__file__).resolve().parent.parent
VAR = re.compile(r"\b(GROUPBOT_[A-Z0-9_]+__[A-Z0-9_]+)\s*[:=]\s*\"?([^\s\"#]*)")


def variables(text: str) -> dict[str, str]:
    """``GROUPBOT_A__B`` → value as written (``${…}`` replaced by a sample value)."""
    return {k: re.sub(r"\$\{[^}]*\}", "pw", v) or "x" for k, v in VAR.findall(text)}


@pytest.mark.parametrize("name", ["compose.yaml", "Dockerfile", "docs/deploy.md"])
def test_environment_variables_name_real_config_keys(name: str) -> None:
    """The config refuses unknown keys, so loading with the variables set proves each names one."""
    found = variables((ROOT / name).read_text(encoding="utf-8"))
    assert found
    cfg = load_config(ROOT / "config.example.toml", FEATURES, environ=found)
    if "GROUPBOT_STORAGE__URL" in found:
        assert cfg.storage.url.startswith("postgresql+asyncpg://")


def test_the_image_reads_its_config_where_compose_mounts_it() -> None:
    docker = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    (path,) = re.findall(r'"-c", "([^"]+)"', docker)
    assert f":{path}:ro" in compose
    assert "127.0.0.1:8080:8080" in compose, "published on loopback only"


def test_docs_link_only_to_files_of_the_repository() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "../shared" not in text and "PLATFORMS.md" not in text, page.name
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # an outside address (https:, mailto:)
            resolved = (page.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{page.name}: {target} leaves the repository"
            assert resolved.exists(), f"{page.name}: {target} does not exist"


def docker_runs() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not docker_runs(), reason="no Docker daemon on this machine")
def test_the_image_builds() -> None:
    r = subprocess.run(
        ["docker", "build", "-q", "-t", "groupbot-test", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr[-2000:]


def test_a_misspelt_variable_is_caught() -> None:
    with pytest.raises(ConfigError):
        load_config(
            ROOT / "config.example.toml", FEATURES, environ=variables("GROUPBOT_SERVER__HOTS=x")
        )
