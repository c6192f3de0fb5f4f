"""``[weekly]``: the weekly summary (周报) — when it is posted, where, and what it covers.

    [weekly]
    enabled = true
    weekday = "mon"          # mon … sun, in the bot's timezone ([bot] timezone)
    time = "09:00"
    group = "g-admin"        # an admin group from [[groups]] …
    alerts = false           # … and/or the alert group ([bot] alert_group)
    tags = ["宝妈", "VIP"]   # optional: only groups with these tags, one section per tag
    rank_by = "active_rate"  # the figure the best and weakest groups are ranked by
    top = 3                  # how many of each (0: none)
    grace_hours = 24         # a summary missed while the bot was down is posted this late
    console_url = ""         # e.g. "https://bot.example.com": the post links the full report

Rules: the summary is set once, here (a ``[[groups]]`` table may not change it); with
``enabled`` it needs a place to go (``group`` or ``alerts``), ``group`` must be in
``[[groups]]`` and ``alerts`` needs ``[bot] alert_group``. Every problem names its key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from bot import Config, Section
from handlers.matrix import FIGURES

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class WeeklyConfig(Section):
    enabled: bool = False
    weekday: Weekday = "mon"
    time: str = Field("09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    group: str = ""
    alerts: bool = False
    tags: list[str] = Field([], max_length=50)
    rank_by: str = "active_rate"
    top: int = Field(3, ge=0, le=10)
    grace_hours: int = Field(24, ge=0, le=6 * 24)
    console_url: str = Field("", max_length=200)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        tags = [t.strip() for t in v]
        if any(not t or len(t) > 32 for t in tags):
            raise ValueError("a tag is 1–32 characters")
        if len(set(tags)) != len(tags):
            raise ValueError("a tag is listed twice")
        return tags

    @field_validator("rank_by")
    @classmethod
    def _rank_by(cls, v: str) -> str:
        if v not in FIGURES:
            raise ValueError(f"must be one of {', '.join(FIGURES)}")
        return v

    @field_validator("console_url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip().rstrip("/")
        if v and not v.startswith(("https://", "http://")):
            raise ValueError("must start with https:// or http://")
        if any(c.isspace() for c in v):
            raise ValueError("must not contain spaces")
        return v


def targets(config: Config) -> list[str]:
    """The groups the summary is posted to: ``group``, then the alert group (once each)."""
    cfg = config.feature(WeeklyConfig)
    out = [cfg.group] if cfg.group else []
    alert = config.bot.alert_group
    if cfg.alerts and alert and alert not in out:
        out.append(alert)
    return out


def check(config: Config) -> list[str]:
    """Problems spanning sections (module rules), each with its key path."""
    cfg = config.feature(WeeklyConfig)
    problems = [
        f"groups[{i}].weekly: the weekly summary is set once, in [weekly]"
        for i, g in enumerate(config.groups)
        if config.feature(WeeklyConfig, g.id) != cfg
    ]
    if cfg.group and config.group(cfg.group) is None:
        problems.append(f"weekly.group: {cfg.group!r} is not in [[groups]]")
    if cfg.alerts and not config.bot.alert_group:
        problems.append("weekly.alerts: [bot] alert_group is not set")
    if cfg.enabled and not cfg.group and not cfg.alerts:
        problems.append("weekly: enabled needs group or alerts = true (where the summary goes)")
    return problems
