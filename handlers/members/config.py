"""The ``[members]`` section (overridable per group): member tags and the rules that tag
automatically.

Rules:
- A tag is 1–20 characters without spaces, ``@``, ``/``, ``#`` or commas. With ``tags`` set,
  only those tags may be used (a typo is refused instead of becoming a new tag).
- An auto-tag rule's ``when`` is one condition from a fixed vocabulary — ``vip_score``,
  ``checkin_days``, ``invites`` or ``inactive_days``, then ``>=``, then a whole number — never
  an expression that is evaluated. Anything else is a config error naming its key path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot import Section

TAG_RE = re.compile(r"[^\s@/#＃,，]{1,20}")
METRICS = {
    "vip_score": "VIP 分（签到天数 + 权重 × 有效邀请）",
    "checkin_days": "签到天数",
    "invites": "有效邀请人数",
    "inactive_days": "未发言、未签到的天数",
}
_WHEN = re.compile(r"\s*([a-z_]{1,20})\s*>=\s*([0-9]{1,6})\s*")


def valid_tag(tag: str) -> bool:
    return TAG_RE.fullmatch(tag) is not None


@dataclass(frozen=True)
class Condition:
    metric: str
    at_least: int

    def __str__(self) -> str:
        return f"{self.metric} >= {self.at_least}"


def parse_when(when: str) -> Condition:
    """``"vip_score >= 80"`` → Condition; ValueError naming what is allowed otherwise."""
    m = _WHEN.fullmatch(when)
    if m is None or m.group(1) not in METRICS:
        raise ValueError(
            f"when must be '<metric> >= <number>' with metric one of {', '.join(METRICS)}"
        )
    return Condition(m.group(1), int(m.group(2)))


class AutoTag(BaseModel):
    """``[[members.auto_tags]] tag = "VIP", when = "vip_score >= 80"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    tag: str
    when: str
    untag: bool = True  # take the tag off again when the condition no longer holds

    @field_validator("tag")
    @classmethod
    def _tag(cls, v: str) -> str:
        if not valid_tag(v):
            raise ValueError("a tag is 1–20 characters without spaces, @, /, # or commas")
        return v

    @field_validator("when")
    @classmethod
    def _when(cls, v: str) -> str:
        parse_when(v)
        return v

    @property
    def condition(self) -> Condition:
        return parse_when(self.when)


class CleanupConfig(BaseModel):
    """``[members.cleanup]``: removing members who went quiet (定期清理)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    inactive_days: int = Field(30, ge=1, le=3650)  # quiet for this long: a candidate
    daily_cap: int = Field(20, ge=0, le=500)  # members removed (or listed) per group and day
    keep_tags: list[str] = []  # members carrying one of these tags are never candidates
    repeat_after_days: int = Field(7, ge=1, le=365)  # a member in a run is left out this long


class PromoteConfig(BaseModel):
    """``[members.promote]``: inviting valuable members into a VIP group."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    target_group: str = ""  # the VIP group's id (as in [[groups]])
    link: str = ""  # its entry link, sent in the invitation (never called by the bot)
    min_score: int = Field(10, ge=1, le=1_000_000)  # vip_score needed to be a candidate
    from_tag: str = ""  # when set: the members carrying this tag instead of by score
    daily_cap: int = Field(20, ge=0, le=500)
    repeat_after_days: int = Field(30, ge=1, le=3650)

    @field_validator("link")
    @classmethod
    def _link(cls, v: str) -> str:
        if v and (len(v) > 500 or not re.fullmatch(r"https?://[^\s<>\"']+", v)):
            raise ValueError("link must be an http(s) address without spaces or quotes")
        return v

    @field_validator("from_tag")
    @classmethod
    def _from_tag(cls, v: str) -> str:
        if v and not valid_tag(v):
            raise ValueError("a tag is 1–20 characters without spaces, @, /, # or commas")
        return v


class MembersConfig(Section):
    enabled: bool = True
    tags: list[str] = []  # when set, the only tags that may be used
    max_tags_per_member: int = Field(20, ge=1, le=100)
    auto_tags: list[AutoTag] = Field(default_factory=list, max_length=50)
    cleanup: CleanupConfig = CleanupConfig()
    promote: PromoteConfig = PromoteConfig()

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        for t in v:
            if not valid_tag(t):
                raise ValueError(f"{t[:30]!r}: a tag is 1–20 characters without spaces, @, / or #")
        return v

    @model_validator(mode="after")
    def _known(self) -> MembersConfig:
        for rule in self.auto_tags:
            if self.tags and rule.tag not in self.tags:
                raise ValueError(f"auto_tags: {rule.tag!r} is not one of tags")
        return self

    def allows(self, tag: str) -> bool:
        return valid_tag(tag) and (not self.tags or tag in self.tags)
