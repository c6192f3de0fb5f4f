"""``groupbot report -c FILE [--group ID] [--days N]``: the operator reports in the terminal.

Prints, as aligned tables: groups near capacity, then per group the inactive members (no
message or check-in for ``--days`` days, default ``[stats] inactive_days``) and the VIP
candidates, then the dead-lettered outbox messages. Bad arguments exit 2 with one line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bot import Config, ConfigLoader, database
from handlers.checkin import board_staff
from handlers.members import inactive_members, vip_candidates
from handlers.stats import reports
from handlers.stats.config import StatsConfig


def width(text: str) -> int:
    """Terminal columns: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clip(text: str, cols: int = 32) -> str:
    text = " ".join(str(text).split())
    if width(text) <= cols:
        return text
    out = ""
    for c in text:
        if width(out + c) > cols - 1:
            break
        out += c
    return out + "…"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Columns padded to their widest cell (CJK-aware); numbers right-aligned."""
    cells = [[clip(str(c)) for c in header]] + [[clip(str(c)) for c in r] for r in rows]
    widths = [max(width(r[i]) for r in cells) for i in range(len(header))]
    numeric = [all(isinstance(r[i], int) for r in rows) and bool(rows) for i in range(len(header))]
    lines = []
    for n, r in enumerate(cells):
        parts = []
        for i, c in enumerate(r):
            pad = " " * (widths[i] - width(c))
            parts.append(pad + c if numeric[i] and n > 0 else c + pad)
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _section(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    body = table(header, rows) if rows else ["(none)"]
    return ["", f"== {title}", *body]


async def build_report(config: Config, group: str | None, days: int | None) -> list[str]:
    now = datetime.now(UTC)
    out: list[str] = [
        f"groupbot report — {now.astimezone(config.timezone(group)):%Y-%m-%d %H:%M %Z}"
    ]
    async with database(config) as db, db.read() as s:
        gids = [group] if group else await reports.known_group_ids(s, config)
        caps = await reports.near_capacity(s, config)
        out += _section(
            "groups near capacity",
            ["group", "name", "members", "near", "capacity", "status"],
            [
                (c.group_id, c.name, c.members, c.near_capacity, c.capacity, c.status)
                for c in caps
                if group is None or c.group_id == group
            ],
        )
        for gid in gids:
            cfg = config.feature(StatsConfig, gid)
            n = days or cfg.inactive_days
            idle = await inactive_members(s, gid, now, n, cfg.report_limit)
            out += _section(
                f"{gid}: inactive members (no message or check-in for {n} days)",
                ["user", "name", "last seen", "idle days"],
                [(r.user_id, r.name, _day(r.last_seen, config, gid), r.idle_days) for r in idle],
            )
            vips = await vip_candidates(
                s, gid, cfg.vip_invite_weight, cfg.report_limit, board_staff(config, gid)
            )
            out += _section(
                f"{gid}: VIP candidates (check-in days + {cfg.vip_invite_weight} × invites)",
                ["user", "name", "check-ins", "invites", "score"],
                [(v.user_id, v.name, v.checkins, v.invites, v.score) for v in vips],
            )
        dead = await reports.dead_letters(s, group)
        out += _section(
            "dead letters (undeliverable outbox messages)",
            ["id", "group", "action", "attempts", "created", "error"],
            [
                (
                    m.id,
                    m.group_id or "-",
                    m.action,
                    m.attempts,
                    _day(m.created_at, config, m.group_id),
                    m.last_error or "-",
                )
                for m in dead
            ],
        )
    return out


def _day(at: datetime | None, config: Config, gid: str | None) -> str:
    return at.astimezone(config.timezone(gid)).strftime("%Y-%m-%d %H:%M") if at else "never"


def cmd_report(args: argparse.Namespace, load: ConfigLoader) -> int:
    config = load(args.config)
    if args.days is not None and not 1 <= args.days <= 3650:
        print("--days: must be from 1 to 3650", file=sys.stderr)
        return 2
    if args.group is not None and not _known(config, args.group):
        print(f"--group: unknown group {args.group}", file=sys.stderr)
        return 2
    for line in asyncio.run(build_report(config, args.group, args.days)):
        print(line)
    return 0


def _known(config: Config, gid: str) -> bool:
    if config.group(gid) is not None:
        return True

    async def seen() -> bool:
        try:
            async with database(config, migrate=False) as db, db.read() as s:
                return await reports.group_exists(s, config, gid)
        except Exception:  # no database yet: nothing was ever seen
            return False

    return asyncio.run(seen())


def register_cli(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], load: ConfigLoader
) -> None:
    """Add ``groupbot report``."""
    p = sub.add_parser("report", help="operator reports: inactive, VIPs, capacity, dead letters")
    p.add_argument("-c", "--config", required=True, help="TOML config file")
    p.add_argument("--group", help="only this group")
    p.add_argument("--days", type=int, help="inactive after this many days (default [stats])")
    p.set_defaults(func=partial(cmd_report, load=load))
