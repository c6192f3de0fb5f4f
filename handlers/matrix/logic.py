"""The matrix: every group the bot knows with its figures over the last ``days`` days, filtered
by a tag, sorted by a figure, with per-tag subtotals.

Rules:
- Groups: configured ones in their configured order, then those met on the wire by id
  (as the overview lists them). Name: the configured one, else the one the platform gave,
  else the id. Tags: the group's effective tags (``bot.group_tags``).
- ``tag``: only the groups carrying it (a tag no group carries is an error: a typo must not
  quietly show nothing). ``sort``: a figure's name, or ``name``; ascending, or descending with
  a leading ``-``; ties keep the listed order.
- ``subtotals``: one per tag carried by a shown group (a group counts in each of its tags),
  and ``""`` for the shown groups without a tag; ``total``: every shown group once
  (``handlers.matrix.rates``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, group_tags
from handlers.matrix.figures import BY_IDS, Counts, window_counts, windows
from handlers.matrix.rates import FIGURES, figures, subtotal
from handlers.stats import known_group_ids
from storage.models import Group

MAX_DAYS = 366
SORTS = ("name", *FIGURES)


class BadInput(ValueError):
    """A parameter the matrix cannot take (the message names it)."""


@dataclass
class Row:
    id: str
    name: str
    tags: tuple[str, ...]
    counts: Counts
    figures: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.figures = figures(self.counts)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "tags": list(self.tags), **self.figures}


@dataclass
class Reuse:
    """Counts of every group kept for ``ttl_s`` seconds (monotonic), per window."""

    store: dict[tuple[Any, ...], tuple[float, dict[str, Counts]]]
    monotonic: float
    ttl_s: float


@dataclass
class Matrix:
    first: date
    last: date
    days: int
    rows: list[Row]
    subtotals: dict[str, dict[str, Any]]
    total: dict[str, Any]


def parse_sort(raw: str) -> tuple[str, bool]:
    """(figure, descending) of a ``sort`` parameter ("" = listed order)."""
    key = raw.strip()
    desc = key.startswith("-")
    key = key.removeprefix("-")
    if key and key not in SORTS:
        raise BadInput(f"sort must be one of {', '.join(SORTS)} (a leading - sorts descending)")
    return key, desc


async def group_names(session: AsyncSession, config: Config) -> dict[str, str]:
    """Every known group's display name (module rules)."""
    stored = dict((await session.execute(select(Group.id, Group.name))).all())
    for g in config.groups:
        stored[g.id] = g.name or stored.get(g.id) or ""
    return {gid: name or gid for gid, name in stored.items()}


async def tags_in_use(session: AsyncSession, config: Config) -> list[str]:
    """Every tag some known group carries, in first-seen order."""
    tags = await group_tags(session, config, await known_group_ids(session, config))
    return list(dict.fromkeys(t for ts in tags.values() for t in ts))


def by_tag(rows: list[Row]) -> dict[str, dict[str, Any]]:
    """Each tag's subtotal ("" for the groups without a tag), tags in first-seen order."""
    members: dict[str, list[Counts]] = {}
    for r in rows:
        for t in r.tags or ("",):
            members.setdefault(t, []).append(r.counts)
    return {t: subtotal(cs) for t, cs in members.items()}


def sort_rows(rows: list[Row], key: str, desc: bool) -> list[Row]:
    if not key:
        return rows
    if key == "name":
        return sorted(rows, key=lambda r: r.name, reverse=desc)
    return sorted(rows, key=lambda r: r.figures[key], reverse=desc)


async def build(
    session: AsyncSession,
    config: Config,
    now: datetime,
    *,
    days: int,
    tag: str = "",
    sort: str = "",
    last_day: date | None = None,
    reuse: Reuse | None = None,
) -> Matrix:
    """The matrix over ``days`` days ending today in each group's timezone (or ending on
    ``last_day``, the same date everywhere, for a past window)."""
    key, desc = parse_sort(sort)
    every = await known_group_ids(session, config)
    tags = await group_tags(session, config, every)
    chosen = [gid for gid in every if not tag or tag in tags.get(gid, ())]
    if tag and not chosen:
        raise BadInput(f"tag: no group is tagged {tag!r}")

    def last_of(tz: ZoneInfo) -> date:
        return last_day if last_day is not None else now.astimezone(tz).date()

    def first_of(tz: ZoneInfo) -> date:
        return last_of(tz) - timedelta(days=days - 1)

    everyone = len(chosen) == len(every)
    if reuse is not None and reuse.ttl_s > 0 and (everyone or len(chosen) > BY_IDS):
        # every group's counts, kept a short while: pages, sorts and tags share them
        zones = windows(config, every, first_of, last_of)
        window = (days, *((w.tz.key, w.first, w.gids) for w in zones))
        kept = reuse.store.get(window)
        if kept is None or reuse.monotonic - kept[0] >= reuse.ttl_s:
            reuse.store.clear()
            kept = (reuse.monotonic, await window_counts(session, zones, True, now))
            reuse.store[window] = kept
        counts = kept[1]
    else:
        zones = windows(config, chosen, first_of, last_of)
        counts = await window_counts(session, zones, everyone, now)
    names = await group_names(session, config)
    rows = [Row(gid, names.get(gid, gid), tags.get(gid, ()), counts[gid]) for gid in chosen]
    tz = config.timezone(None)
    return Matrix(
        first=first_of(tz),
        last=last_of(tz),
        days=days,
        rows=sort_rows(rows, key, desc),
        subtotals=by_tag(rows),
        total=subtotal(r.counts for r in rows),
    )
