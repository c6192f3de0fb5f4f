"""The programme table (节目表) as data: slots, campaigns, holidays, quiet hours.

Rules:
- A slot runs on its days (``mon``…``sun``, ``daily``, ``weekdays``, ``weekends``) at a local
  time, in each target group's own timezone, between optional start and end dates.
- Targets: ``all``, ``tag:<tag>`` or a group id.
- A campaign is a date range that adds slots and may replace named slots on those dates.
- Holidays are dates on which nothing is posted.
- Quiet hours (e.g. ``22:00-08:00``) are hours with no posts; a slot inside them is a config
  error with its key path.
- Content (and each pool item) is a template naming only ``VARIABLES`` as plain ``{name}``;
  anything else is refused when the slot is configured or added.
"""

from __future__ import annotations

from datetime import date, time
from datetime import time as Time  # (inside Slot, ``time`` names a field)

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot import templates

# What a slot's content may name: fixed values, live numbers, and a lottery's draw.
VARIABLES = frozenset(
    {
        "date",
        "weekday",
        "theme",
        "group",
        "checkins_today",
        "top_checkin",
        "top_points",
        "top_invites",
        "winners",
        "seed",
        "candidates",
    }
)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {
    "daily": set(range(7)),
    "weekdays": set(range(5)),
    "weekends": {5, 6},
    **{n: {i} for i, n in enumerate(DAY_NAMES)},
}
CN_DAYS = {
    "周一": "mon",
    "周二": "tue",
    "周三": "wed",
    "周四": "thu",
    "周五": "fri",
    "周六": "sat",
    "周日": "sun",
    "周天": "sun",
    "每天": "daily",
    "工作日": "weekdays",
    "周末": "weekends",
    **{f"星期{c}": d for c, d in zip("一二三四五六日", DAY_NAMES, strict=True)},
    "星期天": "sun",
}


def parse_time(text: str) -> time:
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(f"time {text!r} must be HH:MM or HH:MM:SS")
    h, m, s = (int(p) for p in (*parts, "0")[:3])
    if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 60):
        raise ValueError(f"time {text!r} is out of range")
    return time(h, m, s)


def weekdays_of(days: list[str]) -> set[int]:
    out: set[int] = set()
    for d in days:
        key = CN_DAYS.get(d, d).lower()
        if key not in DAY_SETS:
            raise ValueError(f"unknown day {d!r} (use mon … sun, daily, weekdays, weekends)")
        out |= DAY_SETS[key]
    return out


class Link(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str = Field(min_length=1, max_length=128)
    url: str = Field(pattern=r"^https?://", max_length=2048)
    picurl: str = Field("", max_length=2048)
    desc: str = Field("", max_length=512)


class MiniProgram(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str = Field(min_length=1, max_length=64)
    appid: str = Field(min_length=1, max_length=64)
    page: str = Field(min_length=1, max_length=1024)
    pic: str = Field(min_length=2)  # cover: absolute path of a local image (uploaded)


class Attachment(BaseModel):
    """One attachment of a 企业群发 post: exactly one of ``image`` (absolute path of a local
    image, uploaded as temporary media), ``link`` or ``miniprogram``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    image: str = ""
    link: Link | None = None
    miniprogram: MiniProgram | None = None

    @model_validator(mode="after")
    def _one(self) -> Attachment:
        given = [k for k in ("image", "link", "miniprogram") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("an attachment is exactly one of image, link or miniprogram")
        for path in (self.image, self.miniprogram.pic if self.miniprogram else ""):
            if path and not path.startswith("/"):
                raise ValueError(f"image {path!r} must be an absolute path of a local file")
        return self


class Slot(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, max_length=64, pattern=r"^[\w\-\u4e00-\u9fff]+$")
    days: list[str] = ["daily"]
    time: str
    theme: str = ""
    content: str = ""
    pool: list[str] = []  # rotates by occurrence when given
    targets: list[str] = ["all"]
    start: date | None = None
    end: date | None = None
    markdown: bool = False
    action: str = Field("post", pattern="^(post|lottery)$")  # lottery: draw among today's check-ins
    winners: int = Field(3, ge=1, le=100)
    # a key slot (e.g. the weekly benefit day): in a WeCom customer group without a robot it
    # goes out as 企业群发 (a task the group owner confirms), within the monthly cap
    key: bool = False
    # sent with a 企业群发 only (at most 9): robots and staff reminders carry the text alone
    attachments: list[Attachment] = Field([], max_length=9)

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        weekdays_of(v)
        return v

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        parse_time(v)
        return v

    @field_validator("content")
    @classmethod
    def _content(cls, v: str) -> str:
        templates.validate(v, VARIABLES)
        return v

    @field_validator("pool")
    @classmethod
    def _pool(cls, v: list[str]) -> list[str]:
        for i, text in enumerate(v):
            try:
                templates.validate(text, VARIABLES)
            except templates.TemplateError as exc:
                raise ValueError(f"pool[{i}]: {exc}") from None
        return v

    @model_validator(mode="after")
    def _body(self) -> Slot:
        if not self.content and not self.pool:
            raise ValueError("a slot needs content or a pool")
        if self.start and self.end and self.end < self.start:
            raise ValueError("end is before start")
        return self

    @property
    def at(self) -> Time:
        return parse_time(self.time)

    @property
    def weekdays(self) -> set[int]:
        return weekdays_of(self.days)


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    start: date
    end: date
    slots: list[Slot] = []
    replace: list[str] = []  # ids of regular slots that do not run on the campaign's dates

    @model_validator(mode="after")
    def _order(self) -> Campaign:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


def parse_quiet(text: str) -> tuple[time, time] | None:
    if not text:
        return None
    a, sep, b = text.partition("-")
    if not sep:
        raise ValueError("quiet_hours must look like 22:00-08:00")
    return parse_time(a), parse_time(b)


def in_quiet(t: time, quiet: tuple[time, time] | None) -> bool:
    if quiet is None:
        return False
    start, end = quiet
    return start <= t < end if start <= end else (t >= start or t < end)
