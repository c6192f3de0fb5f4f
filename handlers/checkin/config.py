"""The ``[checkin]`` section (overridable per group)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot import Section

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    start: date
    end: date
    multiplier: float = Field(2.0, gt=0, le=100)

    @model_validator(mode="after")
    def _order(self) -> Campaign:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class CheckinConfig(Section):
    enabled: bool = True
    reset_hour: int = Field(0, ge=0, le=23)
    base_points: int = Field(10, ge=0, le=100_000)
    # streak length → bonus points, e.g. {"3" = 2, "7" = 5, "30" = 20}
    streak_bonus: dict[int, int] = {3: 2, 7: 5, 30: 20}
    weekday_multiplier: dict[str, float] = {}
    campaigns: list[Campaign] = []
    require_content: bool = False
    bare_word: bool = False  # also accept a plain "签到"/"打卡" without the slash
    card_every: int = Field(7, ge=0)  # a make-up card for every N-day streak; 0 = never
    makeup_days: int = Field(7, ge=0, le=60)  # how far back 补签 may reach
    milestones: list[int] = [7, 30, 100, 365]
    staff: list[str] = []
    exclude_staff: bool = True

    @field_validator("weekday_multiplier")
    @classmethod
    def _days(cls, v: dict[str, float]) -> dict[str, float]:
        for k, m in v.items():
            if k not in WEEKDAYS:
                raise ValueError(f"unknown weekday {k!r} (use mon … sun)")
            if not 0 < m <= 100:
                raise ValueError(f"multiplier for {k} must be in (0, 100]")
        return v
