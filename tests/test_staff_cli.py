"""``groupbot user …``: accounts added, listed, given a new password, disabled; bad input is
one line on stderr, exit 2, and nothing stored; every change audited with the actor cli."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.staff import accounts
from handlers.app import main
from storage.db import Database
from storage.models import AuditEntry
from storage.models_staff import StaffUser


def run(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exc:
        return int(exc.code or 0)


def user(args: list[str], cfg: Path, stdin: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return run(["user", *args, "-c", str(cfg)])


async def rows(url: str) -> tuple[list[StaffUser], list[str]]:
    db = Database(url)
    try:
        async with db.read() as s:
            users = list(await s.scalars(select(StaffUser).order_by(StaffUser.name)))
            audit = [
                f"{a.actor_id} {a.action} {a.target_id}"
                for a in await s.scalars(select(AuditEntry).order_by(AuditEntry.id))
            ]
            return users, audit
    finally:
        await db.dispose()


def test_user_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    cfg = tmp_path / "bot.toml"
    cfg.write_text(f'[storage]\nurl = "{url}"\n', encoding="utf-8")
    assert (
        user(
            ["add", "小安", "--role", "operator", "--password-stdin"],
            cfg,
            "s3cret-pass\n",
            monkeypatch,
        )
        == 0
    )
    assert "added 小安 (operator)" in capsys.readouterr().out
    # refused: a taken name, a short password, an unknown role, a bad name
    assert (
        user(
            ["add", "小安", "--role", "viewer", "--password-stdin"],
            cfg,
            "another-pass\n",
            monkeypatch,
        )
        == 2
    )
    assert "already exists" in capsys.readouterr().err
    assert (
        user(["add", "vic", "--role", "viewer", "--password-stdin"], cfg, "short\n", monkeypatch)
        == 2
    )
    assert capsys.readouterr().err.strip() == "groupbot: password: 8 to 256 characters"
    assert user(["add", "vic", "--role", "owner", "--password-stdin"], cfg, "", monkeypatch) == 2
    assert (
        user(
            ["add", "a b", "--role", "viewer", "--password-stdin"],
            cfg,
            "long-enough\n",
            monkeypatch,
        )
        == 2
    )
    capsys.readouterr()
    assert (
        user(
            ["add", "vic", "--role", "viewer", "--password-stdin"],
            cfg,
            "viewer-pass\n",
            monkeypatch,
        )
        == 0
    )
    assert user(["passwd", "vic", "--password-stdin"], cfg, "newer-pass\n", monkeypatch) == 0
    assert user(["disable", "小安"], cfg, "", monkeypatch) == 0
    assert user(["passwd", "nobody", "--password-stdin"], cfg, "whatever-1\n", monkeypatch) == 2
    capsys.readouterr()
    assert user(["list"], cfg, "", monkeypatch) == 0
    listed = [line.split("\t")[:3] for line in capsys.readouterr().out.splitlines()]
    assert listed == [["vic", "viewer", "enabled"], ["小安", "operator", "disabled"]]

    users, audit = asyncio.run(rows(url))
    vic = next(u for u in users if u.name == "vic")
    assert vic.password_hash.startswith("$argon2id$") and "newer-pass" not in vic.password_hash

    async def check(password: str) -> bool:
        db = Database(url)
        try:
            async with db.read() as s:
                return await accounts.verify(s, "vic", password) is not None
        finally:
            await db.dispose()

    assert asyncio.run(check("newer-pass")) and not asyncio.run(check("viewer-pass"))
    assert audit == [
        "cli staff.add 小安",
        "cli staff.add vic",
        "cli staff.passwd vic",
        "cli staff.disable 小安",
    ]
