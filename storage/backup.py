"""``groupbot db backup``: a consistent copy of a SQLite database while the bot runs.

Rules:
- SQLite's online backup API copies the database page by page under its own locks, so the copy
  is consistent even while ``serve`` writes (WAL included); the copy is a plain database file
  that ``[storage] url`` can point at to restore.
- The target must not exist (a backup never overwrites anything) and its folder must exist.
- PostgreSQL is backed up with its own tools (``pg_dump``); the command says so and changes
  nothing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """Why no backup was written (one line for the operator)."""


def sqlite_file(url: str) -> Path:
    """The database file behind a SQLite URL; BackupError for anything else."""
    u = make_url(url)
    if not u.drivername.startswith("sqlite"):
        raise BackupError(
            f"storage.url is {u.drivername}: back PostgreSQL up with pg_dump "
            "(see docs/deploy.md, Backups)"
        )
    if not u.database or u.database == ":memory:":
        raise BackupError("storage.url: an in-memory database has nothing to back up")
    return Path(u.database)


def backup(url: str, target: Path) -> int:
    """Copy the database at ``url`` to ``target``; returns the bytes written."""
    source = sqlite_file(url)
    if not source.is_file():
        raise BackupError(f"storage.url: no database file at {source}")
    if target.exists():
        raise BackupError(f"{target} exists: a backup never overwrites a file")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a folder")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return target.stat().st_size
