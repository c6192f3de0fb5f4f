"""``[[entry]]``: 活码 campaigns — each lists its groups in the order they are filled.

    [[entry]]
    id = "mama"                 # the page is /j/mama (letters, digits, - and _)
    title = "宝妈福利群"
    groups = ["g1", "g2", "g3"]
    full_message = "群都满啦，请添加客服微信 xxx"   # optional; {title} may be used
    capacity = 190              # optional; default: each group's [welcome] capacity

Rules: ids are unique and safe in a URL path; every group named is in ``[[groups]]`` and
in one campaign at most (a group filled by two campaigns would be counted twice); texts are
data with ``{field}`` holes only (``bot.templates``).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot import Config, Section, templates

ID_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
FULL_VARS = ("title",)


class JoinWay(BaseModel):
    """A WeCom 加入群聊 code (``add_join_way`` scene 2) for the campaign's customer groups:
    WeCom opens ``room_base_name`` N groups (numbered from ``room_base_id``) when all are
    full."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    room_base_name: str = Field("", max_length=40)
    room_base_id: int = Field(1, ge=1)
    remark: str = Field("", max_length=30)


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str = Field(min_length=1, max_length=60)
    groups: list[str] = Field(min_length=1, max_length=50)
    full_message: str = Field("", max_length=500)
    capacity: int | None = Field(None, ge=1)
    alert_minutes: int = Field(60, ge=1, le=7 * 24 * 60)  # all-full alerts: once per window
    join_window_minutes: int = Field(60, ge=1, le=24 * 60)  # joins this soon after a visit
    tags: list[str] = []  # extra tags for the groups WeCom opens for this campaign
    wecom: JoinWay | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not ID_RE.fullmatch(v):
            raise ValueError("use 1–40 of a-z, 0-9, - and _, starting with a letter or digit")
        return v

    @field_validator("full_message")
    @classmethod
    def _full(cls, v: str) -> str:
        try:
            templates.validate(v, FULL_VARS)
        except templates.TemplateError as exc:
            raise ValueError(str(exc)) from exc
        return v

    @field_validator("groups")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a group is listed twice")
        return v


class EntryConfig(Section):
    campaigns: list[Campaign] = []

    @model_validator(mode="before")
    @classmethod
    def _array(cls, data: Any) -> Any:
        """``[[entry]]`` is an array of tables: the campaigns."""
        return {"campaigns": data} if isinstance(data, list) else data


def campaigns(config: Config) -> list[Campaign]:
    return config.feature(EntryConfig).campaigns


def campaign(config: Config, cid: str) -> Campaign | None:
    return next((c for c in campaigns(config) if c.id == cid), None)


def check(config: Config) -> list[str]:
    """Campaign ids unique; groups configured and in one campaign at most; a WeCom code has
    at most 5 groups (WeCom's limit) and needs WeCom groups."""
    problems: list[str] = []
    ids: set[str] = set()
    owner: dict[str, str] = {}
    for i, c in enumerate(campaigns(config)):
        where = f"entry.campaigns[{i}]"
        if c.id in ids:
            problems.append(f"{where}.id: {c.id!r} is used twice")
        ids.add(c.id)
        for k, gid in enumerate(c.groups):
            g = config.group(gid)
            if g is None:
                problems.append(f"{where}.groups[{k}]: {gid!r} is not in [[groups]]")
            elif c.wecom is not None and g.platform != "wecom":
                problems.append(f"{where}.groups[{k}]: {gid!r} is not a WeCom group")
            if gid in owner:
                problems.append(f"{where}.groups[{k}]: {gid!r} is also in campaign {owner[gid]}")
            owner.setdefault(gid, c.id)
        if c.wecom is not None and len(c.groups) > 5:
            problems.append(f"{where}.groups: a WeCom 加入群聊 code takes at most 5 groups")
    return problems
