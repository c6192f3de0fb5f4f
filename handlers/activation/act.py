"""Carrying out a planned action, once, at its time.

Rules:
- An ``activation.act`` event (keyed by the action) claims its action ``planned → done`` in
  the same transaction that queues its effect; an action skipped by an operator, done
  already or missed is left alone. An action whose time passed by more than
  ``grace_minutes`` (no instance ran) becomes ``missed``; one whose rule or action was
  removed from the config, or whose group the bot left, becomes ``skipped``.
- ``remind_owner``: the bot cannot send red packets — it asks the owner to. The text (the
  action's ``text`` or the ``activation.remind`` template) is followed by
  ``activation.cannot_send`` and goes privately to the owner — ``[groups.activation]
  owner``, else on WeCom ``[groups.groupmsg] owner`` — as a OneBot/console private message
  or, for a WeCom group, an app message (needs ``[wecom] corp_id``, ``secret``,
  ``agent_id``); with no owner (or no way to reach one) it goes to the alert channel
  (``notify_admins``). The message's key is ``act:{plan}:{idx}``.
- ``lottery``/``post``: one programme occurrence (``handlers.programme.post_once``) of the
  slot ``激活-{rule}-{n}`` at the action's time, posted through the programme's one path.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot import Config, Context, Router, Scheduled, group_active, templates
from handlers.activation.config import REMIND_FIELDS, Action, ActivationConfig
from handlers.activation.plan import ACT_JOB, action_key, rules_of
from handlers.activation.repo import ActionRow, PlanRow, Plans
from handlers.groupmsg import GroupMsgConfig
from handlers.programme import post_once
from schedules.model import Slot

log = logging.getLogger("groupbot.activation")
router = Router("activation-act")

T_REMIND = templates.register(
    "activation.remind",
    "🧧 红包激活提醒：群「{group}」{reason}。\n"
    "建议您在 {time} 在群里发一个红包，总额 {amount} 元{packets}，带动大家聊起来。",
    *REMIND_FIELDS,
)
T_CANNOT = templates.register(
    "activation.cannot_send", "（机器人不能发红包，需要您本人在群里发。）", "group", "bot"
)
T_NO_OWNER = templates.register(
    "activation.no_owner", "（群「{group}」未设置群主，请转告群主。）", "group", "bot"
)


def owner_of(config: Config, gid: str) -> str:
    """Who is asked to send the red packet ('' when nobody is configured)."""
    own = config.feature(ActivationConfig, gid).owner
    g = config.group(gid)
    if not own and g is not None and g.platform == "wecom":
        own = config.feature(GroupMsgConfig, gid).owner
    return own


def channel_of(config: Config, gid: str) -> str:
    """Where a reminder goes: ``private``, ``wecom_app`` or ``alert``."""
    g = config.group(gid)
    if g is None or not owner_of(config, gid):
        return "alert"
    if g.platform in ("onebot", "console"):
        return "private"
    w = config.wecom
    if g.platform == "wecom" and w.corp_id and w.secret and w.agent_id:
        return "wecom_app"
    return "alert"


def remind_text(ctx: Context, plan: PlanRow, rule: str, action: Action, a: ActionRow) -> str:
    gid = a.group_id
    values = {
        "reason": plan.reason,
        "time": a.at.astimezone(ctx.config.timezone(gid)).strftime("%m-%d %H:%M"),
        "amount": f"{action.amount:g}",
        "packets": f"，分 {action.packets} 个" if action.packets else "",
        "rule": rule,
    }
    if action.text:
        g = ctx.config.group(gid)
        values |= {"group": g.name if g and g.name else gid, "bot": ctx.config.bot.name}
        body = templates.fill(action.text, values)
    else:
        body = ctx.render_for(gid, T_REMIND, **values)
    return body + "\n" + ctx.render_for(gid, T_CANNOT)


async def remind(ctx: Context, text: str, a: ActionRow, channel: str) -> None:
    key = action_key(a.plan_id, a.idx)
    owner = owner_of(ctx.config, a.group_id)
    if channel == "private":
        await ctx.send_private(owner, text, idem_key=key)
    elif channel == "wecom_app":
        await ctx.repo(Plans).app_text(
            now=ctx.now(), user_id=owner, text=text, group_id=a.group_id, idem_key=key
        )
    else:
        await ctx.notify_admins(text + "\n" + ctx.render_for(a.group_id, T_NO_OWNER))


@router.job(ACT_JOB)
async def carry_out(ctx: Context, ev: Scheduled) -> None:
    plans = ctx.repo(Plans)
    found = await plans.action(int(ev.data["plan"]), int(ev.data["idx"]))
    if found is None or found[1].status != "planned":
        return
    plan, a = found
    now = ctx.now()
    rule = next((r for r in rules_of(ctx.config) if r.name == plan.rule), None)
    grace = timedelta(minutes=ctx.config.feature(ActivationConfig, None).grace_minutes)
    if rule is None or a.idx >= len(rule.actions) or rule.actions[a.idx].kind != a.kind:
        await plans.move(a.plan_id, a.idx, "skipped", now, by="config")
        return
    if now - a.at > grace:
        if await plans.move(a.plan_id, a.idx, "missed", now):
            log.info("activation %s in %s at %s missed", plan.rule, a.group_id, a.at)
        return
    if not await group_active(ctx, a.group_id):
        await plans.move(a.plan_id, a.idx, "skipped", now, by="inactive")
        return
    action = rule.actions[a.idx]
    if action.kind == "remind_owner":
        channel = channel_of(ctx.config, a.group_id)
        if await plans.move(a.plan_id, a.idx, "done", now, channel=channel):
            await remind(ctx, remind_text(ctx, plan, rule.name, action, a), a, channel)
            await ctx.audit("activation.remind", a.group_id, rule=rule.name, channel=channel)
        return
    if await plans.move(a.plan_id, a.idx, "done", now, channel="group"):
        slot = Slot(
            id=f"激活-{rule.name}-{a.idx + 1}",
            time=a.at.astimezone(ctx.tz).strftime("%H:%M"),
            theme=action.theme or rule.name,
            content=action.text,
            targets=[a.group_id],
            action=action.kind,
            winners=action.winners,
        )
        await post_once(ctx, slot, a.at)
