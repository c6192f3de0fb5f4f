"""Warnings for key slots that would exceed WeCom's caps on 企业群发 to a customer group.

Rule: for every customer group (``handlers.groupmsg.is_customer_group``) and calendar month
(group timezone), the key slots (``key = true``) due in it are counted from the programme as
configured (campaigns, holidays and the group's targets included): more than the group's
``groupmsg.month_cap`` in a month, or more than ``day_cap`` on a day, is a warning — the
config stays usable, and at send time the ones over the cap go out as staff reminders. Shown
by ``groupbot check-config`` (this month and the next two), ``groupbot programme show`` and
the dashboard's week page (the months of the week shown) and ``/节目表``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot import Config
from handlers.groupmsg import GroupMsgConfig, is_customer_group
from handlers.programme.slots import due


@dataclass(frozen=True)
class Excess:
    index: int  # groups[index]
    group_id: str
    period: str  # "2026-12" (a month) or "2026-12-02" (a day)
    count: int
    cap: int

    @property
    def monthly(self) -> bool:
        return len(self.period) == 7

    def english(self) -> str:
        what = "month_cap" if self.monthly else "day_cap"
        return (
            f"groups[{self.index}] ({self.group_id}): {self.count} key slots in {self.period} "
            f"exceed groupmsg.{what} {self.cap}; those over it go out as staff reminders"
        )

    def chinese(self) -> str:
        when = f"{self.period} 这个月" if self.monthly else f"{self.period} 这天"
        return (
            f"⚠️ {when}有 {self.count} 个重点节目（企业群发），超过上限 {self.cap}："
            "超出的会改为提醒群主手动发送"
        )


def month_starts(first: date, n: int) -> list[date]:
    out, d = [], first.replace(day=1)
    for _ in range(n):
        out.append(d)
        d = (d + timedelta(days=32)).replace(day=1)
    return out


def excesses(config: Config, months: Iterable[date], group: str | None = None) -> list[Excess]:
    """Each month and day over a customer group's caps (see the module rule)."""
    out: list[Excess] = []
    months = sorted(set(months))
    for i, g in enumerate(config.groups):
        if (group is not None and g.id != group) or not is_customer_group(config, g.id):
            continue
        cfg = config.feature(GroupMsgConfig, g.id)
        tz = config.timezone(g.id)
        for first in months:
            start = datetime.combine(first, time(0), tzinfo=tz)
            end = datetime.combine(month_starts(first, 2)[1], time(0), tzinfo=tz)
            occs = due(config, start.astimezone(UTC), end.astimezone(UTC), g.id)
            days = [o.at.astimezone(tz).date() for o in occs if o.slot.key]
            if len(days) > cfg.month_cap:
                out.append(Excess(i, g.id, f"{first:%Y-%m}", len(days), cfg.month_cap))
            for day, n in sorted(Counter(days).items()):
                if n > cfg.day_cap:
                    out.append(Excess(i, g.id, day.isoformat(), n, cfg.day_cap))
    return out


def check_config_warnings(config: Config) -> list[str]:
    """``groupbot check-config``: this month and the next two, from the wall clock."""
    today = datetime.now(config.timezone(None)).date()
    return [e.english() for e in excesses(config, month_starts(today, 3))]


def week_months(monday: date) -> list[date]:
    """The calendar months a week starting ``monday`` touches."""
    return sorted({monday.replace(day=1), (monday + timedelta(days=6)).replace(day=1)})
