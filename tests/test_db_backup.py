"""``groupbot db backup``: a consistent copy of the SQLite database, never over an existing file;
PostgreSQL is pointed to pg_dump with nothing written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from handlers.app import main


def write_config(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "bot.toml"
    cfg.write_text(f'[storage]\nurl = "{url}"\n', encoding="utf-8")
    return cfg


def test_backup_copies_what_is_committed_while_a_writer_holds_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    cfg = write_config(tmp_path, f"sqlite+aiosqlite:///{db}")
    assert main(["db", "upgrade", "-c", str(cfg)]) == 0
    live = sqlite3.connect(db)  # as `serve` would: WAL, rows not yet checkpointed into the file
    live.execute("PRAGMA journal_mode=WAL")
    live.execute("PRAGMA wal_autocheckpoint=0")
    live.execute(
        "INSERT INTO audit_log (actor_id, action, target_id, detail, created_at) "
        "VALUES ('staff:amy', 'test', 'x', '{}', '2026-12-06 10:00:00')"
    )
    live.commit()
    live.execute("BEGIN IMMEDIATE")  # a writer holds the lock while the backup runs
    live.execute("UPDATE audit_log SET action = 'uncommitted'")
    target = tmp_path / "copy.db"
    assert main(["db", "backup", "-c", str(cfg), str(target)]) == 0
    assert "wrote" in capsys.readouterr().out
    live.rollback()
    live.close()
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT actor_id, action FROM audit_log").fetchall() == [
        ("staff:amy", "test")
    ]
    assert copy.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    copy.close()
    before = target.read_bytes()
    assert main(["db", "backup", "-c", str(cfg), str(target)]) == 2
    assert "never overwrites" in capsys.readouterr().err
    assert target.read_bytes() == before


def test_postgresql_is_pointed_to_pg_dump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, "postgresql+asyncpg://bot:pw@127.0.0.1:1/groupbot")
    target = tmp_path / "copy.db"
    assert main(["db", "backup", "-c", str(cfg), str(target)]) == 2
    assert "pg_dump" in capsys.readouterr().err and not target.exists()
