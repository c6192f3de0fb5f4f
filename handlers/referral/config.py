"""The ``[referral]`` section (overridable per group in ``[[groups]]``).

Rules: tiers have increasing, distinct invite counts; a reward is named once per tier. Days may
be fractional (``qualify_days = 0.5`` is twelve hours).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot import Section


class Tier(BaseModel):
    """Reaching ``invites`` valid invites earns ``reward`` (claimed with /领奖)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    invites: int = Field(ge=1, le=100_000)
    reward: str = Field(min_length=1, max_length=256)


class ReferralConfig(Section):
    """Invite counting and rewards (邀请有礼)."""

    enabled: bool = True
    qualify_days: float = Field(3, ge=0, le=365)  # stayed this long → the invite is valid
    require_activity: bool = False  # …and also spoke once or checked in since joining
    deduct_days: float = Field(7, ge=0, le=365)  # left within this long after qualifying → deducted
    staff_invites_count: bool = True  # false: invites by staff/admins are not credited
    staff: list[str] = []  # extra staff ids (group/bot admins and platform admins are staff)
    daily_cap: int = Field(0, ge=0)  # most invites credited per inviter per local day; 0 = no cap
    cooldown_minutes: float = Field(0, ge=0)  # an invite this soon after the last one: not credited
    # the reward-code pool this group's /领奖 draws from: "config" = the pool named by ``pool``
    # ("" is the shared pool, so configured groups keep one pool unless told otherwise),
    # "group" = a pool of its own, "tag" = one pool per first tag of the group
    pool_by: Literal["config", "group", "tag"] = "config"
    pool: str = Field("", max_length=64)
    adjust_cap: int = Field(20, ge=1, le=1000)  # most invites one /调整邀请 may add or remove
    tiers: list[Tier] = []

    @model_validator(mode="after")
    def _tiers(self) -> ReferralConfig:
        counts = [t.invites for t in self.tiers]
        if counts != sorted(set(counts)):
            raise ValueError("tiers must have increasing, distinct invite counts")
        return self
