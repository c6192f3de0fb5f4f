"""``groupbot rewards import -c CONFIG FILE.csv [--group ID]``: load reward codes into the
shared pool, or into the pool the named group draws from (handlers/referral/pools.py).

Rules: rows are ``tier,code`` (tier = the invite count of a tier configured in ``[referral]``,
globally or for a group — for the named group's only with ``--group``; an optional header row
and blank lines are skipped); a bad row or an unknown tier rejects the whole file (exit 2, the
line named) and nothing is stored. Codes already in the pool are ignored, so importing a file
twice is harmless. Waiting claims of that pool are fulfilled in the same transaction and their
members told privately; codes for platforms without private messages are printed for the
operator to hand over.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, ConfigLoader, database
from handlers.referral.config import ReferralConfig
from handlers.referral.pools import pool_of
from handlers.referral.rewards import add_codes, fulfil_pending, handover_text
from storage.models import AuditEntry

MAX_CODE_LEN = 256


def read_codes(path: Path, tiers: set[int] | None = None) -> list[tuple[int, str]]:
    """Rows ``tier,code`` of a file, each tier one of ``tiers`` when given; raises ValueError
    naming the bad line."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        return parse_codes(f, str(path), tiers)


def parse_codes(
    lines: Iterable[str], label: str, tiers: set[int] | None = None
) -> list[tuple[int, str]]:
    """Rows ``tier,code`` (the file's, or an upload's), each tier one of ``tiers`` when given;
    raises ValueError naming the bad line as ``label:line``."""
    out = []
    for n, row in enumerate(csv.reader(lines), 1):
        cells = [c.strip() for c in row]
        if not "".join(cells):
            continue
        if n == 1 and not cells[0].isdigit():
            continue  # header
        if len(cells) < 2 or not cells[0].isdigit() or not cells[1]:
            raise ValueError(f"{label}:{n}: expected tier,code")
        if len(cells[1]) > MAX_CODE_LEN or any(c.isspace() for c in cells[1]):
            raise ValueError(f"{label}:{n}: a code is one word of at most {MAX_CODE_LEN}")
        tier = int(cells[0])
        if tiers is not None and tier not in tiers:
            known = "、".join(str(t) for t in sorted(tiers)) or "none configured"
            raise ValueError(f"{label}:{n}: tier {tier} is not a reward tier (tiers: {known})")
        out.append((tier, cells[1]))
    return out


async def import_codes(
    s: AsyncSession, config: Config, now: datetime, rows: list[tuple[int, str]], group: str
) -> tuple[int, int, list[str], str]:
    """Put the codes in the shared pool, or the pool ``group`` draws from, and fulfil that
    pool's waiting claims, in the caller's transaction: (added, fulfilled, handover lines,
    pool)."""
    # the shared pool, or the pool the named group draws from (see handlers/referral/pools.py)
    pool = pool_of(config, group) if group else ""
    added = await add_codes(s, now, rows, pool)
    done, handovers = await fulfil_pending(s, config, now, pool)
    return added, done, [handover_text(config, h) for h in handovers], pool


def configured_tiers(config: Config, group: str | None) -> set[int]:
    """The invite counts of the tiers in force: for one group, or anywhere in the config."""
    gids = [group] if group else [None, *(g.id for g in config.groups)]
    return {t.invites for gid in gids for t in config.feature(ReferralConfig, gid).tiers}


def cmd_import(args: argparse.Namespace, load: ConfigLoader) -> int:
    config = load(args.config)
    try:
        rows = read_codes(Path(args.file), configured_tiers(config, args.group))
    except (OSError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 2

    async def run() -> tuple[int, int, list[str]]:
        async with database(config) as db:
            now = datetime.now(UTC)
            async with db.transaction() as s:
                added, done, handovers, pool = await import_codes(s, config, now, rows, args.group)
                s.add(
                    AuditEntry(
                        group_id=None,
                        actor_id="cli",
                        action="referral.codes_import",
                        target_id="",
                        detail={
                            "file": str(args.file),
                            "pool": pool,
                            "added": added,
                            "fulfilled": done,
                        },
                        created_at=now,
                    )
                )
            return added, done, handovers

    added, done, handovers = asyncio.run(run())
    known = len(rows) - added
    print(f"imported {added} new codes ({known} already known); fulfilled {done} waiting claims")
    for line in handovers:
        print(line)
    return 0


def register_cli(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], load: ConfigLoader
) -> None:
    """Add ``groupbot rewards import``."""
    p = sub.add_parser("rewards", help="reward codes for invite tiers")
    psub = p.add_subparsers(dest="rewards_command", required=True, parser_class=type(p))
    imp = psub.add_parser("import", help="load codes from a CSV file (tier,code)")
    imp.add_argument("-c", "--config", required=True)
    imp.add_argument("file")
    imp.add_argument("--group", default="", help="fill the pool this group draws from")
    imp.set_defaults(func=partial(cmd_import, load=load))
