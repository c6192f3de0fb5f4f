"""The ``[programme]`` section; quiet hours may be set per group (``[groups.programme]``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import Field, field_validator, model_validator

from bot import Config, Section, effective_tags
from schedules.due import GroupView, targets
from schedules.model import Campaign, Slot, in_quiet, parse_quiet


class ProgrammeConfig(Section):
    enabled: bool = True
    slots: list[Slot] = []
    campaigns: list[Campaign] = []
    holidays: list[date] = []
    quiet_hours: str = ""  # e.g. "22:00-08:00": no posts in that time
    grace_minutes: int = Field(30, ge=0, le=24 * 60)  # missed by less: posted late on start

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: str) -> str:
        parse_quiet(v)
        return v

    @model_validator(mode="after")
    def _unique_ids(self) -> ProgrammeConfig:
        seen: set[str] = set()
        for s in self.slots:
            if s.id in seen:
                raise ValueError(f"slot id {s.id!r} is used twice")
            seen.add(s.id)
        return self


def group_views(
    config: Config, stored: Mapping[str, Sequence[str]] | None = None
) -> list[GroupView]:
    """The configured groups as the schedule sees them; ``stored``: the tags given from the
    console (``bot.stored_tags``), merged as ``bot.effective_tags`` does."""
    tags = effective_tags(config, stored or {})
    out = []
    for g in config.groups:
        cfg = config.feature(ProgrammeConfig, g.id)
        quiet = parse_quiet(cfg.quiet_hours)
        out.append(GroupView(g.id, tags[g.id], config.timezone(g.id), quiet or ()))
    return out


def quiet_hours_check(config: Config) -> list[str]:
    """A slot that would post inside a target group's quiet hours is a config error."""
    problems: list[str] = []
    for i, g in enumerate(config.groups):
        cfg = config.feature(ProgrammeConfig, g.id)
        quiet = parse_quiet(cfg.quiet_hours)
        view = GroupView(g.id, tuple(g.tags), config.timezone(g.id), quiet or ())
        groups_slots: list[tuple[str, Any]] = [
            (f"programme.slots[{k}]", s) for k, s in enumerate(cfg.slots)
        ]
        for c_i, c in enumerate(cfg.campaigns):
            groups_slots += [
                (f"programme.campaigns[{c_i}].slots[{k}]", s) for k, s in enumerate(c.slots)
            ]
        for path, slot in groups_slots:
            if targets(slot, view) and in_quiet(slot.at, quiet):
                problems.append(
                    f"{path}.time: {slot.time} falls in the quiet hours {cfg.quiet_hours} "
                    f"of groups[{i}] ({g.id})"
                )
    return problems
