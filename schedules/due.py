"""Which programme occurrences fall into a time window — pure, no clock, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from schedules.model import Campaign, Slot, in_quiet


@dataclass(frozen=True, slots=True)
class Occurrence:
    slot: Slot
    group_id: str
    at: datetime  # UTC
    campaign: str = ""


@dataclass(frozen=True, slots=True)
class GroupView:
    """What the schedule needs to know about one group."""

    id: str
    tags: tuple[str, ...]
    tz: ZoneInfo
    quiet: tuple[time, time] | tuple[()] = ()  # (start, end) times or ()


def targets(slot: Slot, group: GroupView) -> bool:
    for t in slot.targets:
        if t == "all" or t == group.id or (t.startswith("tag:") and t[4:] in group.tags):
            return True
    return False


def slots_on(day: date, slots: list[Slot], campaigns: list[Campaign]) -> list[tuple[Slot, str]]:
    """The slots that run on ``day``: regular ones not replaced, plus campaign slots."""
    active = [c for c in campaigns if c.start <= day <= c.end]
    replaced = {sid for c in active for sid in c.replace}
    out = [(s, "") for s in slots if s.id not in replaced]
    out += [(s, c.name) for c in active for s in c.slots]
    return [
        (s, c)
        for s, c in out
        if day.weekday() in s.weekdays
        and (s.start is None or s.start <= day)
        and (s.end is None or day <= s.end)
    ]


def occurrences(
    group: GroupView,
    slots: list[Slot],
    campaigns: list[Campaign],
    holidays: set[date],
    start: datetime,
    end: datetime,
) -> list[Occurrence]:
    """Occurrences for one group with ``start <= at < end`` (UTC bounds), in time order."""
    first = start.astimezone(group.tz).date() - timedelta(days=1)
    last = end.astimezone(group.tz).date() + timedelta(days=1)
    out: list[Occurrence] = []
    day = first
    while day <= last:
        if day not in holidays:
            for slot, campaign in slots_on(day, slots, campaigns):
                if not targets(slot, group) or in_quiet(slot.at, group.quiet or None):
                    continue
                local = datetime.combine(day, slot.at, tzinfo=group.tz)
                at = local.astimezone(start.tzinfo)
                if start <= at < end:
                    out.append(Occurrence(slot, group.id, at, campaign))
        day += timedelta(days=1)
    return sorted(out, key=lambda o: (o.at, o.slot.id))
