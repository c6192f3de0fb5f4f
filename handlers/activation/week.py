"""The week's plan and, afterwards, each action's effect.

Rules:
- A week is Monday..Sunday in the bot's timezone; ``week`` may name any day of it (default:
  this week).
- An action's effect is known once the hour after its time has ended: the messages and the
  active members (who spoke) in the group's local clock hour starting at its time, next to
  the same hour a week before (``handlers.stats.hour_figures``); ``change`` is the
  difference. A reminder's effect is the group's hour, whoever sent the red packet.
- Ahead: a ``before_campaign`` rule whose day is in the week and not planned yet is listed
  with the groups its targets name now (``*_below`` rules are judged on the day itself).
- Skipping is for a ``planned`` action only (``Plans.move``), recorded with the staff name.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, group_tags
from handlers.activation.plan import chosen_by, rules_of
from handlers.activation.repo import ActionRow, PlanRow, Plans
from handlers.stats import HourFigures, hour_figures, hour_of

KIND_CN = {"remind_owner": "提醒群主发红包", "lottery": "抽奖", "post": "主题帖"}
STATUS_CN = {
    "planned": "待执行",
    "done": "已执行",
    "skipped": "已跳过",
    "missed": "已错过",
}
CHANNEL_CN = {
    "private": "私信群主",
    "wecom_app": "企业微信应用消息",
    "alert": "告警频道",
    "group": "群内",
}


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def parse_week(raw: str, today: date) -> date:
    """The Monday of the week holding ``raw`` (YYYY-MM-DD), or of today's; ValueError else."""
    if not raw:
        return monday_of(today)
    if len(raw) != 10:
        raise ValueError("week must be a date YYYY-MM-DD")
    return monday_of(date.fromisoformat(raw))


def _hours(config: Config, a: ActionRow) -> tuple[datetime, datetime]:
    tz = config.timezone(a.group_id)
    return hour_of(a.at, tz), hour_of(a.at - timedelta(days=7), tz)


def _fig(f: HourFigures) -> dict[str, int]:
    return {"messages": f.messages, "active": f.active}


async def week_view(
    session: AsyncSession, config: Config, monday: date, now: datetime
) -> dict[str, Any]:
    """The plans of the week with their actions and the effects known by ``now``."""
    plans = await Plans(session).week(monday, monday + timedelta(days=6))
    measured = [
        a
        for p in plans
        for a in p.actions
        if a.status == "done" and a.at + timedelta(hours=1) <= now
    ]
    wanted = [(a.group_id, h) for a in measured for h in _hours(config, a)]
    figs = await hour_figures(session, wanted)
    out = []
    for p in plans:
        g = config.group(p.group_id)
        actions = []
        for a in p.actions:
            effect = None
            if a in measured:
                after, before = (figs[(a.group_id, h)] for h in _hours(config, a))
                effect = {
                    "after": _fig(after),
                    "week_before": _fig(before),
                    "change": {
                        "messages": after.messages - before.messages,
                        "active": after.active - before.active,
                    },
                }
            actions.append(
                {
                    "idx": a.idx,
                    "kind": a.kind,
                    "at": a.at.isoformat(),
                    "status": a.status,
                    "channel": a.channel,
                    "skipped_by": a.skipped_by,
                    "done_at": a.done_at.isoformat() if a.done_at else None,
                    "effect": effect,
                }
            )
        out.append(
            {
                "id": p.id,
                "rule": p.rule,
                "group_id": p.group_id,
                "group_name": g.name if g and g.name else p.group_id,
                "day": p.day.isoformat(),
                "reason": p.reason,
                "figures": p.figures,
                "actions": actions,
            }
        )
    return {
        "week": monday.isoformat(),
        "days": [(monday + timedelta(days=i)).isoformat() for i in range(7)],
        "plans": out,
        "ahead": await ahead(session, config, monday, now, plans),
    }


async def ahead(
    session: AsyncSession, config: Config, monday: date, now: datetime, plans: list[PlanRow]
) -> list[dict[str, Any]]:
    """The ``before_campaign`` rules due later in the week (module rules)."""
    today = now.astimezone(config.timezone(None)).date()
    rules = [r for r in rules_of(config) if r.condition == "before_campaign" and r.date]
    done = {(p.rule, p.day) for p in plans}
    out: list[dict[str, Any]] = []
    tags: dict[str, tuple[str, ...]] | None = None
    for r in rules:
        assert r.date is not None
        day = r.date - timedelta(days=r.days_before)
        if not (max(today, monday) <= day <= monday + timedelta(days=6)) or (r.name, day) in done:
            continue
        if tags is None:
            tags = await group_tags(session, config, [g.id for g in config.groups])
        out.append(
            {
                "rule": r.name,
                "day": day.isoformat(),
                "groups": chosen_by(config, r, tags),
                "actions": [{"kind": a.kind, "time": a.time} for a in r.actions],
            }
        )
    return sorted(out, key=lambda x: (x["day"], x["rule"]))
