"""The ``[activation]`` section: rules that choose the groups needing livening up (红包激活)
and what to do about them. ``rules``, ``evaluate_at`` and ``grace_minutes`` are read from
``[activation]``; ``enabled`` and ``owner`` may be set per group (``[groups.activation]``).

Rules:
- A rule's ``condition`` is one of a fixed vocabulary, never an expression:
  ``messages_per_day_below`` (messages per day over the last ``days`` whole days below
  ``threshold``), ``active_rate_below`` (members who spoke over those days ÷ members now,
  below ``threshold``, a fraction from 0 to 1) or ``before_campaign`` (``days_before`` days
  before the campaign's ``date``).
- ``targets``: ``all``, ``tag:<tag>`` or a group id of ``[[groups]]`` (checked at start).
- An action is ``remind_owner`` (the group owner is asked to send a red packet of
  ``amount`` yuan at ``time``: the bot cannot send red packets itself), ``lottery`` or
  ``post`` (a one-off programme post at ``time`` with ``text`` as its content). ``time`` is
  a whole hour (``HH:00``, the group's clock) later than ``evaluate_at`` — the effect is
  measured per hour. Texts are templates of named fields only.
- Anything else is a config error naming its key path.
"""

from __future__ import annotations

import re
from datetime import date as Date
from datetime import time as Time  # (inside Action, ``time`` names a field)

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot import Config, Section, templates
from schedules.model import VARIABLES, parse_time

CONDITIONS = ("messages_per_day_below", "active_rate_below", "before_campaign")
KINDS = ("remind_owner", "lottery", "post")
# what a remind_owner text may name
REMIND_FIELDS = ("group", "amount", "packets", "time", "rule", "reason", "bot")
NAME_RE = r"^[\w\-\u4e00-\u9fff]{1,40}$"


class Action(BaseModel):
    """``[[activation.rules.actions]]``: one thing to do for a chosen group."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str = Field(pattern="^(remind_owner|lottery|post)$")
    time: str
    amount: float = Field(0, ge=0, le=20000)  # remind_owner: suggested total, in yuan
    packets: int = Field(0, ge=0, le=500)  # remind_owner: suggested number of packets (0: any)
    text: str = Field("", max_length=2000)  # remind_owner: overrides the template; else content
    theme: str = Field("", max_length=64)  # lottery/post: the post's theme
    winners: int = Field(3, ge=1, le=100)  # lottery: among today's check-ins

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        at = parse_time(v)
        if at.minute or at.second:
            raise ValueError("time must be a whole hour (HH:00): the effect is measured per hour")
        return v

    @model_validator(mode="after")
    def _body(self) -> Action:
        if self.kind == "remind_owner":
            if self.amount <= 0:
                raise ValueError("amount: a remind_owner action needs the suggested yuan (> 0)")
            if self.text:
                templates.validate(self.text, REMIND_FIELDS)
        else:
            if not self.text:
                raise ValueError(f"text: a {self.kind} action needs its content")
            templates.validate(self.text, VARIABLES)
        return self

    @property
    def at(self) -> Time:
        return parse_time(self.time)


class Rule(BaseModel):
    """``[[activation.rules]]``: which groups, when, and what to do."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=NAME_RE)
    targets: list[str] = Field(["all"], min_length=1, max_length=100)
    condition: str = Field(pattern="^(messages_per_day_below|active_rate_below|before_campaign)$")
    threshold: float = Field(0, ge=0, le=100_000)
    days: int = Field(7, ge=1, le=30)  # the window of the *_below conditions
    date: Date | None = None  # before_campaign: the campaign's first day
    days_before: int = Field(1, ge=0, le=30)
    actions: list[Action] = Field(min_length=1, max_length=5)

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: list[str]) -> list[str]:
        for i, t in enumerate(v):
            if t != "all" and not re.fullmatch(r"(tag:)?[^\s]{1,128}", t):
                raise ValueError(f"targets[{i}]: use all, tag:<tag> or a group id")
        return v

    @model_validator(mode="after")
    def _condition(self) -> Rule:
        if self.condition == "before_campaign":
            if self.date is None:
                raise ValueError("date: before_campaign needs the campaign's date")
        elif self.threshold <= 0:
            raise ValueError(f"threshold: {self.condition} needs a threshold above 0")
        if self.condition == "active_rate_below" and self.threshold > 1:
            raise ValueError("threshold: an active rate is a fraction from 0 to 1 (e.g. 0.2)")
        return self


class ActivationConfig(Section):
    enabled: bool = True
    owner: str = Field("", max_length=128)  # per group: who sends the red packet (QQ / userid)
    evaluate_at: str = "09:00"  # when the day's plan is made (bot timezone)
    grace_minutes: int = Field(60, ge=5, le=12 * 60)  # an action later than this is missed
    rules: list[Rule] = Field(default_factory=list, max_length=50)

    @field_validator("evaluate_at")
    @classmethod
    def _evaluate(cls, v: str) -> str:
        parse_time(v)
        return v

    @model_validator(mode="after")
    def _rules(self) -> ActivationConfig:
        names = [r.name for r in self.rules]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"rules: the name {dupes[0]!r} is used twice")
        start = parse_time(self.evaluate_at)
        for i, r in enumerate(self.rules):
            for k, a in enumerate(r.actions):
                if a.at <= start:
                    raise ValueError(
                        f"rules[{i}].actions[{k}].time: {a.time} is not after evaluate_at "
                        f"{self.evaluate_at} (the plan is made then)"
                    )
        return self


def check_targets(config: Config) -> list[str]:
    """A rule's group id must be a group of ``[[groups]]``."""
    known = {g.id for g in config.groups}
    cfg = config.feature(ActivationConfig, None)
    return [
        f"activation.rules[{i}].targets[{k}]: {t!r} is not a group in [[groups]]"
        for i, r in enumerate(cfg.rules)
        for k, t in enumerate(r.targets)
        if t != "all" and not t.startswith("tag:") and t not in known
    ]
