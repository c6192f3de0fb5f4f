"""The ``[rules]`` section: group rules text, checks and their action ladders.

Rules:
- Each check (``banned``, ``ads``, ``flood``) has a ladder of actions taken in order — delete
  the message, warn, kick — and always a report to admins; ``shadow = true`` only logs and
  reports what it would have done.
- A banned-word pattern that cannot be compiled is a config error naming its key path
  (``rules.banned_words[3]: …``, or ``groups[0].rules.banned_words[1]: …`` for an override).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from bot import PatternError, Patterns, Section

ACTIONS = ("delete", "warn", "kick")
AD_KINDS = ("url", "phone", "wechat_id", "attachment")


def _pattern(p: str) -> str:
    """One banned-word pattern, compiled on its own so a failure is reported at its index
    (pydantic puts the list index in the error location)."""
    try:
        Patterns.compile([p])
    except PatternError as exc:
        raise ValueError(exc.reason) from exc
    return p


class Check(BaseModel):
    """One rule: what it does (in order) when it fires; ``shadow`` only logs and reports."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    actions: list[str] = ["delete", "warn"]
    shadow: bool = False

    @field_validator("actions")
    @classmethod
    def _actions(cls, v: list[str]) -> list[str]:
        for a in v:
            if a not in ACTIONS:
                raise ValueError(f"unknown action {a!r} (use delete, warn, kick)")
        return list(dict.fromkeys(v))


class RulesConfig(Section):
    text: str = "1. 友善交流，不发广告\n2. 不刷屏\n3. 不发违法违规内容"
    banned_words: list[Annotated[str, AfterValidator(_pattern)]] = []
    wildcard_gap: int = Field(6, ge=0, le=20)  # "*" stands for up to this many characters
    banned: Check = Check()
    ads: Check = Check()
    ad_kinds: list[str] = list(AD_KINDS)
    flood: Check = Check(actions=["warn"])
    flood_messages: int = Field(8, ge=0)  # more than this many messages …
    flood_seconds: float = Field(10, gt=0)  # … in this many seconds
    flood_repeats: int = Field(3, ge=0)  # the same text this many times
    command_answers: int = Field(2, ge=1)  # answers to one command repeated by a member …
    command_seconds: float = Field(3, gt=0)  # … within this many seconds
    alerts_per_minute: int = Field(5, ge=1)  # rules alerts to admins per group and minute
    warn_limit: int = Field(3, ge=1, le=100)  # this many warnings in force → limit_action
    limit_action: str = Field("kick", pattern="^(kick|none)$")
    warning_days: float = Field(30, gt=0)  # warnings expire after this
    exempt: list[str] = []  # never checked

    @field_validator("ad_kinds")
    @classmethod
    def _kinds(cls, v: list[str]) -> list[str]:
        for k in v:
            if k not in AD_KINDS:
                raise ValueError(f"unknown ad kind {k!r} (use {', '.join(AD_KINDS)})")
        return v
