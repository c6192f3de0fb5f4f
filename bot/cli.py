"""``groupbot`` command line (CONTRACT.md): serve, check-config, db upgrade, chat, and the
subcommands features add. Exit code 2 for bad config or arguments, one reason per line on
stderr.

The command line is built for the features handed to ``main`` by the composition root
(``handlers/app.py``); ``entry`` is that module, which ``serve`` runs again (``python -m``) as
its worker process under ``[server] split_worker``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from bot.config import Config, ConfigError, load_config
from bot.feature import Feature
from bot.preflight import EXIT_CANNOT_START, StartupError, listen_sockets
from bot.staff import cli as staff_cli
from bot.state import HEALTH, LEADER

EXIT_BAD_CONFIG = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 as well; keep it one line
        self.print_usage(sys.stderr)
        print(f"groupbot: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_CONFIG)


def load_or_exit(path: str, features: Sequence[Feature]) -> Config:
    try:
        return load_config(path, features)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        raise SystemExit(EXIT_BAD_CONFIG) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot import logs
    from bot.runtime import Bot
    from bot.web.app import create_app
    from bot.web.serving import serve as serve_http

    config = load_or_exit(args.config, args.features)
    logs.setup(args.log_level, logs.secrets_of(config))
    logs.raise_open_files_limit()
    # bound before the bot starts: a port in use is told before any migration or job runs
    port_key = "--port" if args.port is not None else "[server] port"
    port = args.port if args.port is not None else config.server.port
    socks = listen_sockets(args.host or config.server.host, port, port_key)
    split = config.server.split_worker and config.server.workers
    bot = Bot(
        config,
        console_sink=lambda line: print(line, flush=True),
        ingest_only=split,
        keep_console=False,
    )
    app = create_app(bot)
    if split:
        from bot.worker_process import WorkerProcess

        worker = WorkerProcess(
            args.entry, args.config, args.log_level, config.server.shutdown_timeout_s
        )
        bot.nudge = worker.nudge
        bot.services.state.need(HEALTH)["worker_process"] = lambda: worker.alive
        bot.services.state.set(LEADER, lambda: worker.leads(bot.db))

        async def run_worker(_app: web.Application) -> AsyncIterator[None]:
            await worker.start()  # after the bot started: the schema is up to date
            yield
            await worker.stop()  # before the bot stops: requests are answered by now

        app.cleanup_ctx.append(run_worker)
    try:
        asyncio.run(
            serve_http(
                app,
                socks,
                max_connections=config.server.max_connections,
                shutdown_timeout=config.server.shutdown_timeout_s,
                announce=lambda msg: print(msg, file=sys.stderr, flush=True),
                watch=bot.metrics.watch,
            )
        )
    finally:
        for sock in socks:
            sock.close()
    return 0


def cmd_work(args: argparse.Namespace) -> int:
    from bot import logs
    from bot.worker_process import run_worker

    config = load_or_exit(args.config, args.features)
    logs.setup(args.log_level, logs.secrets_of(config))
    logs.raise_open_files_limit()
    asyncio.run(run_worker(config, lambda line: print(line, flush=True)))
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    config = load_or_exit(args.config, args.features)
    from bot.selftest import run_checks

    problems = asyncio.run(run_checks(config, online=args.online))
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        return EXIT_BAD_CONFIG
    for f in config.features:
        for warn in f.warnings:
            for line in warn(config):
                print(f"warning: {line}")
    print(f"{args.config}: ok ({len(config.groups)} groups)")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.db import Database
    from storage.migrate import current, upgrade

    config = load_or_exit(args.config, args.features)

    async def run() -> str | None:
        db = Database(config.storage.url)
        try:
            await upgrade(db)
            return await current(db)
        finally:
            await db.dispose()

    print(f"database at revision {asyncio.run(run())}")
    return 0


def cmd_db_prune(args: argparse.Namespace) -> int:
    """The periodic retention prune run by hand ([retention]); prints the rows per table."""
    from datetime import UTC, datetime

    from bot.retention import prune
    from storage.db import Database

    config = load_or_exit(args.config, args.features)

    async def run() -> dict[str, int]:
        db = Database(config.storage.url)
        try:
            return await prune(db, config.retention, datetime.now(UTC), dry_run=args.dry_run)
        finally:
            await db.dispose()

    verb = "would remove" if args.dry_run else "removed"
    for table, n in asyncio.run(run()).items():
        print(f"{table}: {verb} {n} rows")
    return 0


def cmd_db_backup(args: argparse.Namespace) -> int:
    """A consistent copy of the SQLite database while the bot runs (storage/backup.py)."""
    from storage.backup import BackupError, backup

    config = load_or_exit(args.config, args.features)
    try:
        size = backup(config.storage.url, Path(args.target))
    except BackupError as exc:
        print(f"groupbot: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    print(f"wrote {args.target} ({size:,} bytes)")
    return 0


def cmd_db_revision(args: argparse.Namespace) -> int:
    """Exit 0 with the new file's path; 1 when there is nothing to write (storage/revision.py)."""
    from storage.revision import NothingToDo, new_revision

    if args.config:
        load_or_exit(args.config, args.features)
    try:
        path = new_revision(args.message, empty=args.empty)
    except NothingToDo as exc:
        print(f"groupbot: {exc} (--empty writes one for a hand-written data migration)")
        return 1
    print(f"wrote {path}")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.chat import run_chat

    config = load_or_exit(args.config, args.features)
    return asyncio.run(run_chat(config, group=args.group, user=args.user))


def build_parser(features: Sequence[Feature], entry: str) -> argparse.ArgumentParser:
    p = _Parser(prog="groupbot", description="A bot for running community groups (社群运营).")
    p.set_defaults(features=tuple(features), entry=entry)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(
        name: str, fn: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help)
        sp.add_argument("-c", "--config", required=True, help="TOML config file")
        sp.set_defaults(func=fn)
        return sp

    s = add("serve", cmd_serve, "run the bot's HTTP server")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--log-level", default="INFO")
    w = add("work", cmd_work, "process and deliver for `serve` with [server] split_worker")
    w.add_argument("--log-level", default="INFO")
    c = add("check-config", cmd_check_config, "validate a config file")
    c.add_argument("--online", action="store_true", help="also call the WeCom API (gettoken)")
    db = sub.add_parser("db", help="database tools")
    dbsub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    up = dbsub.add_parser("upgrade", help="apply migrations")
    up.add_argument("-c", "--config", required=True)
    up.set_defaults(func=cmd_db_upgrade)
    pr = dbsub.add_parser("prune", help="remove finished rows past [retention] now")
    pr.add_argument("-c", "--config", required=True)
    pr.add_argument("--dry-run", action="store_true", help="only count what would go")
    pr.set_defaults(func=cmd_db_prune)
    bk = dbsub.add_parser("backup", help="copy the SQLite database while the bot runs")
    bk.add_argument("-c", "--config", required=True)
    bk.add_argument("target", help="the file to write (must not exist)")
    bk.set_defaults(func=cmd_db_backup)
    rev = dbsub.add_parser("revision", help="autogenerate a migration from the models")
    rev.add_argument("-m", "--message", required=True, help="what the revision changes")
    rev.add_argument("-c", "--config", help="TOML config file (only checked)")
    rev.add_argument("--empty", action="store_true", help="write one even with nothing to do")
    rev.set_defaults(func=cmd_db_revision)
    ch = add("chat", cmd_chat, "play members of a console group in the terminal")
    ch.add_argument("--group", help="console group id (default: the first console group)")
    ch.add_argument("--user", default="alice", help="who you are at the start")
    load = partial(load_or_exit, features=tuple(features))
    staff_cli.setup(sub, load)
    for f in features:
        if f.cli is not None:
            f.cli(sub, load)
    return p


def main(argv: list[str] | None, features: Sequence[Feature], entry: str) -> int:
    """Run one ``groupbot`` command for ``features``; returns the exit code. What keeps the
    bot from starting (a port in use, an unreachable database) is one line on stderr naming
    the config key, exit 1 (bot/preflight.py)."""
    args = build_parser(features, entry).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except StartupError as exc:
        print(f"groupbot: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    except KeyboardInterrupt:
        return 130
