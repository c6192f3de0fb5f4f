"""``groupbot rewards import -c CONFIG FILE.csv``: load reward codes (rows ``tier,code``)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path


def read_codes(path: Path) -> list[tuple[int, str]]:
    """Rows ``tier,code`` (a header row is skipped); raises ValueError naming the bad line."""
    out = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        for n, row in enumerate(csv.reader(f), 1):
            if not row or not "".join(row).strip():
                continue
            if n == 1 and not row[0].strip().isdigit():
                continue
            if len(row) < 2 or not row[0].strip().isdigit() or not row[1].strip():
                raise ValueError(f"{path}:{n}: expected tier,code")
            out.append((int(row[0]), row[1].strip()))
    return out


def cmd_import(args: argparse.Namespace) -> int:
    from bot.cli import load_or_exit
    from handlers.referral.claims import add_codes, fulfil_pending
    from storage.db import Database
    from storage.migrate import upgrade

    config = load_or_exit(args.config)
    try:
        rows = read_codes(Path(args.file))
    except (OSError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 2

    async def run() -> tuple[int, int]:
        db = Database(config.storage.url)
        try:
            await upgrade(db)
            now = datetime.now(UTC)
            async with db.transaction() as s:
                added = await add_codes(s, now, rows)
                done = await fulfil_pending(s, config, now)
            return added, done
        finally:
            await db.dispose()

    added, done = asyncio.run(run())
    known = len(rows) - added
    print(f"imported {added} new codes ({known} already known); fulfilled {done} waiting claims")
    return 0


def register_cli(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("rewards", help="reward codes for invite tiers")
    psub = p.add_subparsers(dest="rewards_command", required=True, parser_class=type(p))
    imp = psub.add_parser("import", help="load codes from a CSV file (tier,code)")
    imp.add_argument("-c", "--config", required=True)
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import)
