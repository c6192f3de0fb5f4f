"""Which groups a broadcast's targets name.

Rules:
- ``all``: every group in ``[[groups]]``, and with ``[bot] unknown_groups = "manage"`` also
  every group the bot met on the wire (the bot never speaks in ignored or observed groups).
- ``tag:<t>``: the groups ``all`` would name that carry the tag — their effective tags
  (``bot.group_tags``: configured, and given from the console); a tag no such group carries is
  an error (a typo must not quietly send to nobody).
- ``group:<id>``: that group, configured or met on the wire (an explicit choice, as for
  ``POST /api/groups/{gid}/messages``); an unknown id is an error.
- Each group is in a broadcast once, however many targets name it; order: as configured,
  then the others by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot import Config
from handlers.broadcast.logic import BadInput, parse_target


@dataclass(frozen=True, slots=True)
class Known:
    """A group as stored (met on the wire, or configured and seen)."""

    platform: str
    name: str
    active: bool


def resolve(
    config: Config,
    known: Mapping[str, Known],
    tags: Mapping[str, tuple[str, ...]],
    targets: Iterable[str],
) -> list[str]:
    """The group ids ``targets`` name (BadInput naming ``targets[i]`` for one that names
    none); ``tags``: the effective tags of the configured and the known groups."""
    configured = [g.id for g in config.groups]
    wire = sorted(gid for gid in known if config.group(gid) is None)
    chosen: set[str] = set()
    for i, spec in enumerate(targets):
        field = f"targets[{i}]"
        kind, value = parse_target(spec, field)
        if kind == "all":
            chosen.update(configured)
            if config.bot.unknown_groups == "manage":
                chosen.update(wire)
        elif kind == "tag":
            reach = configured + (wire if config.bot.unknown_groups == "manage" else [])
            tagged = [g for g in reach if value in tags.get(g, ())]
            if not tagged:
                raise BadInput(field, f"no group is tagged {value!r}")
            chosen.update(tagged)
        elif config.group(value) is not None or value in known:
            chosen.add(value)
        else:
            raise BadInput(field, f"unknown group {value!r}")
    if not chosen:
        raise BadInput("targets", "names no group")
    return [g for g in configured if g in chosen] + [g for g in wire if g in chosen]
