"""``groupbot entry show -c FILE``: every campaign's page, groups and, for WeCom campaigns,
the 加入群聊 code's config id, state and QR code URL, and the groups WeCom said were created
with what became of each (adopted by a campaign, unrelated, pending, failed) — read from the
database as it is: a show migrates nothing."""

from __future__ import annotations

import argparse
import asyncio
from functools import partial

from sqlalchemy import select

from bot import ConfigLoader, database
from handlers.entry import repo
from handlers.entry.config import campaigns
from storage.models_entry import EntryJoinWay


def cmd_show(args: argparse.Namespace, load: ConfigLoader) -> int:
    config = load(args.config)

    async def run() -> list[str]:
        lines: list[str] = []
        async with database(config, migrate=False) as db, db.read() as s:
            for c in campaigns(config):
                gids = await repo.group_ids(s, c)
                lines.append(f"{c.id}\t{c.title}\t/j/{c.id}\tgroups: {', '.join(gids)}")
                if c.wecom is not None:
                    w = await s.scalar(select(EntryJoinWay).where(EntryJoinWay.campaign_id == c.id))
                    if w is None:
                        lines.append("  wecom: not made yet (the bot makes it when running)")
                    else:
                        lines.append(
                            f"  wecom: config_id {w.config_id or '-'}  status {w.status}"
                            f"  qr_code {w.qr_code or '-'}"
                            + (f"  error {w.last_error}" if w.last_error else "")
                        )
            found = await repo.candidates(s)
            if found:
                lines.append("created groups (newest first):")
                for r in found:
                    whose = f" ({r.campaign_id})" if r.campaign_id else ""
                    err = f"  error {r.last_error}" if r.last_error else ""
                    lines.append(f"  {r.chat_id}\t{r.status}{whose}{err}")
        return lines

    lines = asyncio.run(run())
    print("\n".join(lines) if lines else "no [[entry]] campaigns configured")
    return 0


def register_cli(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], load: ConfigLoader
) -> None:
    """Add ``groupbot entry show``."""
    p = sub.add_parser("entry", help="活码 campaigns")
    psub = p.add_subparsers(dest="entry_command", required=True, parser_class=type(p))
    show = psub.add_parser("show", help="campaigns, their groups and WeCom 加入群聊 codes")
    show.add_argument("-c", "--config", required=True)
    show.set_defaults(func=partial(cmd_show, load=load))
