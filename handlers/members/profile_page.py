"""``/admin/groups/{gid}/members/{uid}`` (成员档案): one member of one group — check-ins,
points, make-up cards, invites, warnings, tags and the history of what was done to them —
and, for an ``operator`` or ``admin``, the actions of ``profile_actions.py``.

Rules: the figures are the member API's (``GET /api/groups/{gid}/members/{uid}``), read
through the owning features' public functions. A POST needs the anti-forgery value and the
role ``operator`` (a viewer is refused before this runs); it checks the input (400 with the
reason, nothing submitted), never warns staff (``staff_ids``), acts only in a group the bot
manages (an event of an ignored or observed group reaches no feature), and submits the
action as one keyed event (303 back to the page). Everything shown is escaped; times are
in the group's timezone.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from aiohttp import web

from bot import Members, Scheduled
from bot.web_public import (
    actor,
    bot_of,
    cards,
    checked_form,
    esc,
    form_guard,
    group_tabs,
    load_group,
    not_found,
    page,
    principal_of,
    require_role,
    table,
    when,
)
from handlers.checkin import member_checkins
from handlers.members.actions import MEMBER_ROLE
from handlers.members.candidates import staff_ids
from handlers.members.config import MembersConfig
from handlers.members.profile_actions import ACTIONS, JOB, BadAction, checked
from handlers.members.repo import History
from handlers.members.tags import tag_rows
from handlers.referral import ReferralConfig, invite_counts
from handlers.rules import Moderation, warning_count

PATH = "/admin/groups/{gid}/members/{uid}"
SHOWN = 50  # history and moderation rows shown
STAFF_NOTE = "不能警告群主、管理员或工作人员"
UNMANAGED = "机器人不管理这个群（不在 [[groups]] 中，见 [bot] unknown_groups），不能处理成员。"


def here(gid: str, uid: str) -> str:
    return f"/admin/groups/{quote(gid, safe='')}/members/{quote(uid, safe='')}"


def _forms(request: web.Request, gid: str, uid: str, staff: bool) -> str:
    who = principal_of(request)
    if who is None or not who.may(MEMBER_ROLE):
        return '<p class="muted" data-readonly="1">处理成员需要「管理员」权限。</p>'
    if bot_of(request).config.group_mode(gid) != "manage":
        return f'<p class="muted" data-unmanaged="1">{UNMANAGED}</p>'

    def form(do: str, fields: str = "") -> str:
        return (
            f'<form method="post" action="{esc(here(gid, uid))}" data-form="{do}" '
            f'class="compose">{form_guard(request)}'
            f'<input type="hidden" name="nonce" value="{uuid.uuid4().hex}">{fields}'
            f'<button name="do" value="{do}">{ACTIONS[do]}</button></form>'
        )

    reason = '<label>原因 <input name="reason" maxlength="200"></label> '
    tag = '<label>标签 <input name="tag" maxlength="20" required></label> '
    warn = f'<p class="muted">{STAFF_NOTE}。</p>' if staff else form("warn", reason)
    return (
        warn
        + form("revoke")
        + form("cards", '<label>张数 <input name="n" value="1" size="3"></label> ')
        + form("invites", f'<label>增减 <input name="n" value="1" size="4"></label> {reason}')
        + form("tag", tag)
        + form("untag", tag)
    )


async def profile_page(request: web.Request, note: str = "", status: int = 200) -> web.Response:
    bot = bot_of(request)
    gid, group_name = await load_group(request)
    uid = request.match_info["uid"]
    now = bot.clock.now()
    async with bot.db.read() as s:
        member = await Members(s).get(gid, uid)
        if member is None:
            raise not_found("member never seen in this group")
        c = await member_checkins(s, bot.config, gid, uid, now)
        invites = await invite_counts(s, gid, uid)
        warnings = await warning_count(s, gid, uid, now)
        tags = await tag_rows(s, gid, uid)
        history = await History(s).of(gid, uid, SHOWN)
        log = await Moderation(s).entries_of(gid, uid, SHOWN)
        staff = uid in await staff_ids(s, bot.config, gid)
    sent = request.query.get("sent", "")
    if sent in ACTIONS and not note:
        what = f"已提交：{ACTIONS[sent]}（结果见下方记录）"
        note = f'<p class="ok" data-sent="{esc(sent)}">{what}</p>'
    figures = cards(
        [
            ("签到天数", c.total, "checkins"),
            ("连续", c.streak, "streak"),
            ("积分", c.points, "points"),
            ("补签卡", c.cards, "cards"),
            ("有效邀请", invites.get("valid", 0), "invites"),
            ("待定邀请", invites.get("pending", 0), "pending"),
            ("生效警告", warnings, "warnings"),
        ]
    )
    tag_list = (
        "".join(
            f'<span class="tag" data-tag="{esc(t.tag)}">{esc(t.tag)}'
            f'<small class="muted">（{"自动" if t.source == "auto" else "手动"}）</small></span> '
            for t in tags
        )
        or '<span class="muted">无</span>'
    )
    changes = table(
        ["时间", "谁", "做了什么", "详情"],
        [(when(a.at, request, gid), a.actor or "-", a.action, a.detail) for a in history],
        wrap=(3,),
        attrs='data-table="history"',
        empty="没有记录",
    )
    moderation = table(
        ["记录号", "时间", "规则", "处理", "原因", "谁", "已撤销"],
        [
            (
                f"#{m.id}",
                when(m.created_at, request, gid),
                m.rule,
                m.action,
                m.reason,
                m.actor_id or "自动",
                "是" if m.undone_at else "",
            )
            for m in log
        ],
        wrap=(4,),
        attrs='data-table="moderation"',
        empty="没有记录",
    )
    state = "在群" if member.in_group else "已退群"
    body = (
        f"{group_tabs(request, gid, group_name)}<h2>{esc(member.name or uid)} "
        f'<small class="muted">{esc(uid)} · {state}{" · 工作人员" if staff else ""} · 最后活跃 '
        f"{when(member.last_active_at, request, gid)}</small></h2>{note}{figures}"
        f'<p data-field="tags">标签：{tag_list}</p>'
        f"<h2>处理</h2>{_forms(request, gid, uid, staff)}<h2>记录</h2>{changes}"
        f"<h2>管理日志</h2>{moderation}"
    )
    return page(request, f"{member.name or uid} · {group_name}", body, status=status)


async def profile_post(request: web.Request) -> web.Response:
    """Act on a member (admin role): one keyed ``Scheduled`` event, nothing else stored."""
    require_role(request, MEMBER_ROLE)
    bot = bot_of(request)
    form = await checked_form(request)
    gid, _name = await load_group(request)
    uid = request.match_info["uid"]
    async with bot.db.read() as s:
        if await Members(s).get(gid, uid) is None:
            raise not_found("member never seen in this group")
        staff = uid in await staff_ids(s, bot.config, gid)
    members = bot.config.feature(MembersConfig, gid)
    try:
        data = checked(form, members, bot.config.feature(ReferralConfig, gid))
        if data["do"] == "warn" and staff:
            raise BadAction(STAFF_NOTE)
        if bot.config.group_mode(gid) != "manage":  # its events would never reach a feature
            raise BadAction(UNMANAGED)
    except BadAction as exc:
        note = f'<p class="bad" data-error="{esc(form.get("do", ""))}">{esc(exc)}</p>'
        return await profile_page(request, note, status=400)
    event = Scheduled(
        dedup_key=f"profile:{form['nonce']}",
        platform="internal",
        group_id=gid,
        occurred_at=bot.clock.now(),
        job=JOB,
        data={**data, "target": uid, "actor": actor(request)},
    )
    await bot.inbox.submit(event)
    return web.Response(status=303, headers={"Location": f"{here(gid, uid)}?sent={data['do']}"})
