"""Making the day's plan: which groups each rule chooses, and the actions for them.

Rules:
- The ``activation.tick`` job (every ``TICK_S`` seconds of monotonic time, scheduler leader
  only) computes the due time from the wall clock itself: once the bot's local time has
  passed ``evaluate_at`` it submits one ``activation.plan`` event keyed by the day
  (``activation.plan:{day}``), so however many ticks, restarts and instances, the day is
  planned by one event; the plan rows' unique (rule, group, day) is the last word.
- The same job submits one ``activation.act`` event per planned action whose time has come,
  keyed ``act:{plan}:{idx}`` (the inbox keeps one); ``act.py`` carries it out.
- A rule looks only at configured groups with ``[activation] enabled`` that the bot has not
  left, that its ``targets`` name (``all``, ``tag:<tag>`` — effective tags — or an id).
- ``*_below`` conditions need ``days`` whole days of history since the bot's first start on
  this database (a group the bot has just met is not "quiet"); the figures come from
  ``handlers.stats`` (``recent_activity``). ``before_campaign`` holds on exactly one day:
  ``date`` − ``days_before``.
- Each action's time is the rule's ``HH:00`` on the plan's day in the group's timezone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import Config, Context, Router, Scheduled, StateKey, group_active
from handlers.activation.config import ActivationConfig, Rule
from handlers.activation.repo import Plans
from handlers.stats import RecentActivity
from schedules.model import parse_time

if TYPE_CHECKING:
    from bot import Bot

PLAN_JOB = "activation.plan"
ACT_JOB = "activation.act"
TICK_S = 60
# the last day this process submitted a plan event for (in-process; the inbox key decides)
PLANNED: StateKey[dict[str, date]] = StateKey("activation.planned", dict)

router = Router("activation-plan")


def rules_of(config: Config) -> list[Rule]:
    cfg = config.feature(ActivationConfig, None)
    return list(cfg.rules) if cfg.enabled else []


def action_key(plan_id: int, idx: int) -> str:
    """The key of an action's event and of its message (outbox row, programme occurrence)."""
    return f"act:{plan_id}:{idx}"


def chosen_by(config: Config, rule: Rule, tags: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The configured groups the rule's targets name, in config order."""
    out = []
    for g in config.groups:
        if not config.feature(ActivationConfig, g.id).enabled:
            continue
        for t in rule.targets:
            if t == "all" or t == g.id or (t.startswith("tag:") and t[4:] in tags.get(g.id, ())):
                out.append(g.id)
                break
    return out


def judge(
    rule: Rule, act: RecentActivity | None, day: date, history_days: int
) -> tuple[str, dict[str, Any]] | None:
    """(reason in Chinese, figures) when the rule chooses the group on ``day``, else None."""
    if rule.condition == "before_campaign":
        assert rule.date is not None
        if rule.date - timedelta(days=rule.days_before) != day:
            return None
        return f"活动 {rule.date.isoformat()} 前 {rule.days_before} 天", {
            "campaign": str(rule.date)
        }
    if act is None or history_days < rule.days:
        return None
    figures = {
        "days": rule.days,
        "messages": act.messages,
        "active": act.active,
        "members": act.members,
        "per_day": round(act.per_day, 2),
        "active_rate": round(act.active_rate, 4),
    }
    if rule.condition == "messages_per_day_below" and act.per_day < rule.threshold:
        why = f"近 {rule.days} 天日均消息 {act.per_day:.1f} 条，低于 {rule.threshold:g} 条"
        return why, figures
    if rule.condition == "active_rate_below" and act.active_rate < rule.threshold:
        why = f"近 {rule.days} 天活跃率 {act.active_rate:.0%}，低于 {rule.threshold:.0%}"
        return why, figures
    return None


def action_at(config: Config, gid: str, day: date, hhmm: str) -> datetime:
    local = datetime.combine(day, parse_time(hhmm), tzinfo=config.timezone(gid))
    return local.astimezone(UTC)


@router.job(PLAN_JOB)
async def make_plan(ctx: Context, ev: Scheduled) -> None:
    day = date.fromisoformat(str(ev.data["day"]))
    config, now, plans = ctx.config, ctx.now(), ctx.repo(Plans)
    since = await plans.first_start()
    history = (day - since.astimezone(config.timezone(None)).date()).days if since else 0
    rules = rules_of(config)
    tags = await plans.tags(config, [g.id for g in config.groups])
    for rule in rules:
        gids = [g for g in chosen_by(config, rule, tags) if await group_active(ctx, g)]
        activity: dict[str, RecentActivity] = {}
        if rule.condition != "before_campaign" and gids:
            activity = await plans.activity(config, gids, rule.days, now)
        for gid in gids:
            verdict = judge(rule, activity.get(gid), day, history)
            if verdict is None:
                continue
            reason, figures = verdict
            plan = dict(
                rule=rule.name,
                group_id=gid,
                day=day,
                reason=reason[:256],
                figures=figures,
                created_at=now,
            )
            actions = [
                dict(
                    group_id=gid,
                    kind=a.kind,
                    at=action_at(config, gid, day, a.time),
                    status="planned",
                    channel="",
                    skipped_by="",
                )
                for a in rule.actions
            ]
            if await plans.add(plan, actions) is not None:
                await ctx.audit("activation.plan", gid, rule=rule.name, day=str(day), why=reason)


async def tick(bot: Bot) -> None:
    """The job: plan the day once ``evaluate_at`` has passed; hand over due actions (also
    when every rule was removed since: their actions are then skipped as ``config``)."""
    cfg = bot.config.feature(ActivationConfig, None)
    now = bot.clock.now()
    local = now.astimezone(bot.config.timezone(None))
    planned = bot.services.state.need(PLANNED)
    due_now = local.time() >= parse_time(cfg.evaluate_at)
    if rules_of(bot.config) and due_now and planned.get("day") != local.date():
        day = local.date().isoformat()
        await bot.inbox.submit(_event(f"{PLAN_JOB}:{day}", None, PLAN_JOB, {"day": day}, now))
        planned["day"] = local.date()
    async with bot.db.read() as s:
        due = await Plans(s).due(now)
    events = [
        _event(
            action_key(a.plan_id, a.idx),
            a.group_id,
            ACT_JOB,
            {"plan": a.plan_id, "idx": a.idx},
            now,
        )
        for a in due
    ]
    await asyncio.gather(*(bot.inbox.submit(e) for e in events))


def _event(key: str, gid: str | None, job: str, data: dict[str, Any], now: datetime) -> Scheduled:
    return Scheduled(
        dedup_key=key, platform="internal", group_id=gid, occurred_at=now, job=job, data=data
    )
