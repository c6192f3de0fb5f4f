"""Answers per rule and day: ``GET /api/groups/{gid}/autoreply?days=N[&format=csv]`` and the
table of the dashboard's 自动回复 tab (``console.py``).

Rules:
- ``days`` is 1–366 (default 14), ending today in the group's timezone, oldest first, every
  day present; an unknown group is a 404 and bad parameters a 400 — never a traceback.
- The rows are the entries in force for the group (config rules, FAQ, chat rules, in the order
  they are matched) and then every other id that answered in the range (a removed rule, the
  model as ``ai``), so no answer is left out of the totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from bot import Bot
from bot.web_public import BOT, bad_request, csv_response, int_param, load_group
from handlers.autoreply.chatrules import chat_entries
from handlers.autoreply.config import AutoreplyConfig
from handlers.autoreply.logic import entries_for
from handlers.autoreply.repo import hits

MAX_DAYS = 366
SOURCE_CN = {"rule": "配置", "faq": "FAQ", "chat": "群内添加", "ai": "AI", "": "已删除"}


@dataclass(frozen=True, slots=True)
class RuleRow:
    rule: str
    source: str
    keywords: list[str]
    hits: list[int]  # one per day, oldest first

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "source": self.source,
            "keywords": self.keywords,
            "hits": self.hits,
            "total": sum(self.hits),
        }


async def rule_table(bot: Bot, gid: str, days: int) -> tuple[list[date], list[RuleRow]]:
    """The days and, per rule, its answers on each of them."""
    last = bot.clock.now().astimezone(bot.config.timezone(gid)).date()
    dates = [last - timedelta(days=days - 1 - i) for i in range(days)]
    cfg = bot.config.feature(AutoreplyConfig, gid)
    async with bot.db.read() as s:
        chat = (await chat_entries(s, [gid]))[gid]
        found = await hits(s, gid, dates[0], last)
    entries = entries_for(cfg, bot.config.group(gid), gid, list(chat))
    rows = [
        RuleRow(e.id, e.source, list(e.keywords), [found.get(e.id, {}).get(d, 0) for d in dates])
        for e in entries
    ]
    known = {e.id for e in entries}
    for rid in sorted(set(found) - known):
        src = "ai" if rid == "ai" else ""
        rows.append(RuleRow(rid, src, [], [found[rid].get(d, 0) for d in dates]))
    return dates, rows


async def autoreply_view(request: web.Request) -> web.StreamResponse:
    bot = request.app[BOT]
    gid, _name = await load_group(request)
    days = int_param(request, "days", 14, 1, MAX_DAYS)
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise bad_request("format must be json or csv")
    dates, rows = await rule_table(bot, gid, days)
    if fmt == "csv":
        header = ["rule", "source", *(d.isoformat() for d in dates)]
        lines = ([r.rule, r.source, *r.hits] for r in rows)
        return csv_response(f"autoreply-{gid}-{dates[-1]}.csv", header, lines)
    return web.json_response(
        {
            "group_id": gid,
            "days": [d.isoformat() for d in dates],
            "rules": [r.as_dict() for r in rows],
        }
    )


def setup_web(app: web.Application) -> None:
    app.router.add_get("/api/groups/{gid}/autoreply", autoreply_view)
