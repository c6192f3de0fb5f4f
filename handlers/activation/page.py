"""``/admin/activation`` (红包激活): the week's plan — each chosen group, why, and its actions
with their time and state — and, once the hour after an action has ended, its effect next to
the same hour a week before. An operator may skip a planned action (a form with the
anti-forgery field; a viewer gets 403 before anything runs); the skip is recorded with the
staff member's name. Everything shown is escaped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot import Config
from bot.web_public import bot_of, cards, checked_form, esc, form_guard, link, page, table
from handlers.activation.api import NotPlanned, skip
from handlers.activation.config import ActivationConfig
from handlers.activation.week import CHANNEL_CN, KIND_CN, STATUS_CN, parse_week, week_view

PATH = "/admin/activation"
NOTE = (
    "机器人不能发红包：「提醒群主发红包」只是在约定时间私信群主（企业微信为应用消息；"
    "未设置群主时发到告警频道），由群主本人在群里发。效果 = 执行后一小时内的消息数和发言人数，"
    "对比上周同一小时。"
)


def _name(config: Config, gid: str) -> str:
    g = config.group(gid)
    return g.name if g and g.name else gid


def _effect(e: dict[str, Any] | None) -> str:
    if e is None:
        return "-"
    a, b, c = e["after"], e["week_before"], e["change"]
    return (
        f"消息 {a['messages']}（上周 {b['messages']}，{c['messages']:+d}）；"
        f"发言 {a['active']} 人（上周 {b['active']}，{c['active']:+d}）"
    )


def _skip_form(request: web.Request, week: str, plan: int, idx: int) -> str:
    return (
        f'<form method="post" action="{PATH}/skip" data-skip="{plan}:{idx}">{form_guard(request)}'
        f'<input type="hidden" name="plan" value="{plan}">'
        f'<input type="hidden" name="idx" value="{idx}">'
        f'<input type="hidden" name="week" value="{esc(week)}">'
        '<button type="submit">跳过</button></form>'
    )


async def show(request: web.Request, note: str = "", status: int = 200) -> web.Response:
    bot = bot_of(request)
    now = bot.clock.now()
    tz = bot.config.timezone(None)
    try:
        monday = parse_week(request.query.get("week", ""), now.astimezone(tz).date())
    except ValueError:
        monday = parse_week("", now.astimezone(tz).date())
    async with bot.db.read() as s:
        view = await week_view(s, bot.config, monday, now)
    week = view["week"]
    rows = []
    counts = {"planned": 0, "done": 0, "skipped": 0, "missed": 0}
    for p in view["plans"]:
        for a in p["actions"]:
            counts[a["status"]] = counts.get(a["status"], 0) + 1
            at = datetime.fromisoformat(a["at"]).astimezone(bot.config.timezone(p["group_id"]))
            state = STATUS_CN.get(a["status"], a["status"])
            if a["skipped_by"]:
                state += f"（{a['skipped_by']}）"
            if a["channel"]:
                state += f" · {CHANNEL_CN.get(a['channel'], a['channel'])}"
            can_skip = a["status"] == "planned"
            rows.append(
                (
                    p["day"],
                    p["group_name"],
                    p["rule"],
                    p["reason"],
                    KIND_CN.get(a["kind"], a["kind"]),
                    at.strftime("%m-%d %H:%M"),
                    state,
                    _effect(a["effect"]),
                    _skip_form(request, week, p["id"], a["idx"]) if can_skip else "",
                )
            )
    prev = (monday - timedelta(days=7)).isoformat()
    nxt = (monday + timedelta(days=7)).isoformat()
    nav = (
        f"<p>{link(PATH + '?week=' + quote(prev), '← 上一周')} · "
        f"{esc(week)} 起的一周 · {link(PATH + '?week=' + quote(nxt), '下一周 →')}</p>"
    )
    cfg = bot.config.feature(ActivationConfig, None)
    ahead_rows = [
        (
            x["day"],
            x["rule"],
            "、".join(_name(bot.config, g) for g in x["groups"]) or "（没有群）",
            "；".join(f"{KIND_CN.get(a['kind'], a['kind'])} {a['time']}" for a in x["actions"]),
        )
        for x in view["ahead"]
    ]
    body = (
        "<h1>红包激活</h1>"
        + note
        + f'<p class="muted" data-note="cannot-send">{esc(NOTE)}</p>'
        + nav
        + cards([(STATUS_CN[k], v, k) for k, v in counts.items()])
        + table(
            [
                "日期",
                "群",
                "规则",
                "原因",
                "动作",
                "时间",
                "状态",
                "效果（一小时内 vs 上周同时段）",
                "",
            ],
            rows,
            raw=(8,),
            attrs='data-table="activation"',
            empty="本周没有需要激活的群",
        )
        + "<h2>本周稍后（活动前规则）</h2>"
        + f'<p class="muted">冷群规则每天 {esc(cfg.evaluate_at)} 按前几天的数据评估，'
        + "当天才列出。</p>"
        + table(["日期", "规则", "群", "动作"], ahead_rows, attrs='data-table="ahead"', empty="无")
    )
    return page(request, "红包激活", body, status=status)


async def activation_page(request: web.Request) -> web.Response:
    return await show(request)


async def skip_post(request: web.Request) -> web.Response:
    """Skip a planned action from the page (operator; the anti-forgery field checked)."""
    form = await checked_form(request)
    raw_p, raw_i, week = form.get("plan", ""), form.get("idx", ""), form.get("week", "")
    if not (raw_p.isdigit() and len(raw_p) <= 12 and raw_i.isdigit() and len(raw_i) <= 2):
        return await show(request, '<p class="bad" data-error="input">没有这条计划</p>', 400)
    try:
        await skip(request, int(raw_p), int(raw_i))
    except NotPlanned:
        note = '<p class="bad" data-error="not-planned">这个动作已执行、已跳过或已错过</p>'
        return await show(request, note, 409)
    except web.HTTPNotFound:
        return await show(request, '<p class="bad" data-error="input">没有这条计划</p>', 404)
    where = PATH + ("?week=" + quote(week) if len(week) == 10 else "")
    return web.Response(status=303, headers={"Location": where})
