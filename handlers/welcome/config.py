"""The ``[welcome]`` section (overridable per group)."""

from __future__ import annotations

from pydantic import Field

from bot import Section


class WelcomeConfig(Section):
    enabled: bool = True
    window_s: float = Field(10, ge=0, le=600)  # joins this close together: one greeting
    max_wait_s: float = Field(60, ge=0)  # a steady trickle is greeted at most this late
    once_per_hours: float = Field(24, ge=0)  # greet a member at most once in this many hours
    raid_joins: int = Field(10, ge=2)  # more joins than this …
    raid_window_s: float = Field(60, gt=0)  # … within this many seconds: a raid
    goodbye: bool = False
    capacity: int = Field(200, ge=1)
    near_capacity: int = Field(190, ge=1)  # admins are told from this many members on
    mention: bool = True  # @-mention newcomers in the greeting
