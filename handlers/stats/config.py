"""``[stats]``: what the operator reports and the dashboard call inactive, engaged or a VIP."""

from __future__ import annotations

from pydantic import Field

from bot import Section


class StatsConfig(Section):
    enabled: bool = True  # count messages, joins and leaves for this group
    engagement_minutes: int = Field(30, ge=1, le=24 * 60)  # spoke this soon after a post
    inactive_days: int = Field(14, ge=1, le=3650)  # no message or check-in for this long
    vip_invite_weight: int = Field(3, ge=0, le=100)  # one valid invite counts as N check-ins
    report_limit: int = Field(20, ge=1, le=1000)  # rows per report table
    hourly_days: int = Field(35, ge=8, le=400)  # who spoke per hour is kept this long
