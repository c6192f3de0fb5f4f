"""The ``[autoreply]`` section: keyword rules, the FAQ and the optional AI answer.

Rules:
- A rule answers messages whose normalised text matches its keywords: ``exact`` (the whole
  message is one of them), ``contains`` (every keyword appears) or ``any`` (one of them
  appears). Keywords are normalised like banned words and matched by the same automaton; a
  keyword that cannot be used is a config error naming its key path
  (``autoreply.rules[2].keywords[0]: …``).
- A reply is a template naming only ``VARIABLES``; a rule may add an ``image`` (an http(s)
  URL, or a local file for WeCom robots), ``targets`` (``all``, ``tag:<tag>``, a group id),
  active ``hours``/``days``/``start``/``end`` and its own ``cooldown_s``.
- An FAQ entry is a rule of kind ``any`` over its question variants; it also grounds the AI.
- ``[autoreply.ai]`` is off by default: nothing leaves the machine unless ``enabled`` with a
  ``base_url`` and ``model``. The day's budget counts every group's calls, so it is read from
  the top-level section only (a group that sets its own is a config error).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot import Config, PatternError, Patterns, Section, templates
from schedules.model import parse_quiet, weekdays_of

VARIABLES = frozenset(
    {"name", "group", "bot", "date", "weekday", "members", "checkins_today", "top_checkin"}
)
MAX_IMAGE_BYTES = 2 * 1024 * 1024  # a WeCom robot image message carries at most 2 MB


def _keyword(k: str) -> str:
    try:
        Patterns.compile([k])
    except PatternError as exc:
        raise ValueError(exc.reason) from exc
    return k


def _template(v: str) -> str:
    templates.validate(v, VARIABLES)
    return v


def _image(v: str) -> str:
    """An http(s) URL, or an absolute path to a readable file of at most 2 MB."""
    if not v or v.startswith(("https://", "http://")):
        return v
    p = Path(v)
    if not p.is_absolute():
        raise ValueError("must be an http(s) URL or an absolute file path")
    if not p.is_file():
        raise ValueError(f"no such file: {v}")
    if p.stat().st_size > MAX_IMAGE_BYTES:
        raise ValueError("larger than 2 MB (WeCom robots refuse it)")
    return v


Keyword = Annotated[str, AfterValidator(_keyword)]
Reply = Annotated[str, AfterValidator(_template)]
Image = Annotated[str, AfterValidator(_image)]


class _When(BaseModel):
    """When a rule is in force: local hours (may cross midnight), days and dates."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    targets: list[str] = ["all"]
    hours: str = ""  # "20:00-22:00"; "" = all day
    days: list[str] = ["daily"]
    start: date | None = None
    end: date | None = None
    cooldown_s: float | None = Field(None, ge=0, le=86_400)  # None: the section's

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        try:
            parse_quiet(v)
        except ValueError:
            raise ValueError("hours must look like 20:00-22:00") from None
        return v

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        weekdays_of(v)
        return v

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: list[str]) -> list[str]:
        for t in v:
            if not t or t == "tag:":
                raise ValueError("a target is all, tag:<tag> or a group id")
        return v

    @model_validator(mode="after")
    def _order(self) -> _When:
        if self.start and self.end and self.end < self.start:
            raise ValueError("end is before start")
        return self


class ReplyRule(_When):
    """``[[autoreply.rules]]``: keywords → a reply."""

    id: str = Field("", max_length=64)  # "" = the first keyword (stats and /回复列表 name it)
    keywords: list[Keyword] = Field(min_length=1, max_length=50)
    match: Literal["exact", "contains", "any"] = "any"
    reply: Reply = Field(min_length=1, max_length=4000)
    image: Image = ""


class FaqEntry(_When):
    """``[[autoreply.faq]]``: question variants → an answer (matched like ``any``)."""

    id: str = Field("", max_length=64)  # "" = the first question
    questions: list[Keyword] = Field(min_length=1, max_length=50)
    answer: Reply = Field(min_length=1, max_length=4000)
    image: Image = ""


class AiConfig(Section):
    """``[autoreply.ai]``: an OpenAI-compatible chat endpoint, called by a background worker."""

    enabled: bool = False
    base_url: str = ""  # e.g. "https://api.example.com/v1" (…/chat/completions is called)
    model: str = ""
    api_key: str = ""  # or GROUPBOT_AUTOREPLY__AI__API_KEY
    system_prompt: str = Field(
        "你是社群助手，只根据下面的常见问题和群规简短回答群成员的问题；不知道就说请联系管理员。",
        max_length=4000,
    )
    max_tokens: int = Field(300, ge=1, le=4096)
    timeout_s: float = Field(15, gt=0, le=120)
    daily_budget: int = Field(200, ge=0)  # calls per day (bot timezone), all groups together
    concurrency: int = Field(2, ge=1, le=16)  # calls in flight at once per process
    questions: bool = False  # also answer questions that do not @ the bot (group opts in)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not v.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _complete(self) -> AiConfig:
        if self.enabled and not (self.base_url and self.model):
            raise ValueError("enabled needs base_url and model")
        return self


class AutoreplyConfig(Section):
    enabled: bool = True
    cooldown_s: float = Field(60, ge=0, le=86_400)  # one answer per rule and group per window
    address: bool = True  # quote (OneBot) or @-mention (WeCom robot, console) the asker
    max_chat_rules: int = Field(200, ge=0, le=2000)  # rules /加回复 may add per group
    rules: list[ReplyRule] = []
    faq: list[FaqEntry] = []
    ai: AiConfig = AiConfig()

    @model_validator(mode="after")
    def _unique_ids(self) -> AutoreplyConfig:
        seen: set[str] = set()
        ids = [("rules", i, rule_id(r)) for i, r in enumerate(self.rules)]
        ids += [("faq", i, rule_id(f)) for i, f in enumerate(self.faq)]
        for kind, i, rid in ids:
            if rid in seen:
                raise ValueError(f"{kind}[{i}]: id {rid!r} is used twice (set id)")
            seen.add(rid)
        return self


def rule_id(item: ReplyRule | FaqEntry) -> str:
    """The id stats and ``/回复列表`` use: ``id``, else the first keyword or question (an FAQ
    entry's id starts with ``faq:``)."""
    if isinstance(item, FaqEntry):
        return "faq:" + (item.id or item.questions[0])
    return item.id or item.keywords[0]


def budget_check(config: Config) -> list[str]:
    """The AI budget is shared by all groups: only the top-level section may set it."""
    base = config.feature(AutoreplyConfig).ai.daily_budget
    return [
        f"groups[{i}].autoreply.ai.daily_budget: the budget is shared by all groups; "
        "set it in [autoreply.ai]"
        for i, g in enumerate(config.groups)
        if config.feature(AutoreplyConfig, g.id).ai.daily_budget != base
    ]
