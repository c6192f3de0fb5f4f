"""``groupbot user add|list|passwd|disable|enable|role``: console staff accounts.

Rules: a password comes from a prompt (typed twice, never echoed) or, with
``--password-stdin``, from the first line of standard input (scripts) — never from the
command line, where other users could read it. A refused name, role or password is one line
on stderr, exit 2, and nothing changes. Every change is an audit row with the actor ``cli``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.config import Config
from bot.sending import database
from bot.staff import accounts
from bot.staff.accounts import ROLES, StaffError
from storage.models import AuditEntry

EXIT_BAD = 2
Loader = Callable[[str], Config]


def read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码 / password: ")
    if getpass.getpass("再输一次 / again: ") != first:
        raise StaffError("password: the two entries differ")
    return first


async def _change(config: Config, args: argparse.Namespace) -> str:
    now = datetime.now(UTC)
    async with database(config) as db, db.transaction() as s:
        name, detail = args.name, {}
        if args.user_command == "add":
            acc = await accounts.add_user(s, name, args.role, read_password(args), now)
            out, detail = f"added {acc.name} ({acc.role})", {"role": acc.role}
        elif args.user_command == "passwd":
            await accounts.set_password(s, name, read_password(args), now)
            out = f"new password for {name}; their sessions ended"
        elif args.user_command == "role":
            await accounts.set_role(s, name, args.role, now)
            out, detail = f"{name} is now {args.role}", {"role": args.role}
        else:
            off = args.user_command == "disable"
            await accounts.set_disabled(s, name, off, now)
            out = f"disabled {name}; their sessions ended" if off else f"enabled {name}"
        s.add(
            AuditEntry(
                group_id=None,
                actor_id="cli",
                action=f"staff.{args.user_command}",
                target_id=name,
                detail=detail,
                created_at=now,
            )
        )
    return out


async def _list(config: Config) -> list[accounts.Account]:
    async with database(config) as db, db.read() as s:
        return await accounts.list_users(s)


def cmd_user(args: argparse.Namespace, load: Loader) -> int:
    config = load(args.config)
    if args.user_command == "list":
        for a in asyncio.run(_list(config)):
            state = "disabled" if a.disabled else "enabled"
            print(f"{a.name}\t{a.role}\t{state}\t{a.created_at:%Y-%m-%d}")
        return 0
    try:
        print(asyncio.run(_change(config, args)))
    except StaffError as exc:
        print(f"groupbot: {exc}", file=sys.stderr)
        return EXIT_BAD
    return 0


def setup(sub: Any, load: Loader) -> None:
    user: argparse.ArgumentParser = sub.add_parser("user", help="console staff accounts")
    us = user.add_subparsers(dest="user_command", required=True, parser_class=type(user))

    def add(name: str, help: str, *, who: bool = True) -> argparse.ArgumentParser:
        sp: argparse.ArgumentParser = us.add_parser(name, help=help)
        sp.add_argument("-c", "--config", required=True, help="TOML config file")
        if who:
            sp.add_argument("name", help="the staff member's sign-in name")
        sp.set_defaults(func=lambda a: cmd_user(a, load))
        return sp

    a = add("add", "add an account (password from a prompt or --password-stdin)")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p = add("passwd", "set a new password (ends the account's sessions)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add("list", "list the accounts", who=False)
    add("disable", "disable an account (ends its sessions)")
    add("enable", "enable a disabled account")
    r = add("role", "change an account's role")
    r.add_argument("--role", required=True, choices=ROLES)
