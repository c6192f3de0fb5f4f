"""``/admin/groups/{gid}/actions`` (清理/晋升): each guided action's dry run — who it would
take today, within what is left of the daily cap — with a box per member and a confirm
button; below, the group's runs, and one run member by member (``?run=ID``).

Rules: the confirm form carries the dry run's digest and the anti-forgery field
(``form_guard``); its POST goes through the same ``confirm`` as the API, so a list that
changed since it was shown is refused (409, shown again with the reason) and a double click
finds the run it made. Everything shown is escaped.
"""

from __future__ import annotations

from aiohttp import web

from bot.web_public import (
    actor,
    bot_of,
    cards,
    checked_form,
    esc,
    form_guard,
    group_tabs,
    link,
    load_group,
    page,
    principal_of,
    require_role,
    table,
    when,
)
from handlers.members.actions import KINDS, MEMBER_ROLE, DryRun, dry_run
from handlers.members.actions_api import run_confirmed
from handlers.members.runs import Changed, OverCap, Refused, report, runs_of

PATH = "/admin/groups/{gid}/actions"
KIND_CN = {"cleanup": "清理不活跃成员", "promote": "晋升到 VIP 群"}
STATE_CN = {
    "pending": "待处理",
    "kicked": "已移出",
    "invited": "已私信邀请",
    "listed": "已列给群主",
    "skipped": "已跳过",
    "joined": "已入群",
}
FIGURE_CN = {"cleanup": "未活跃天数", "promote": "VIP 分"}


def _path(gid: str) -> str:
    return PATH.format(gid=gid)


def _dry_run_html(request: web.Request, dr: DryRun) -> str:
    title = f"<h2>{esc(KIND_CN[dr.kind])}</h2>"
    head = cards(
        [
            ("今日上限", dr.cap, f"{dr.kind}-cap"),
            ("今日已用", dr.used, f"{dr.kind}-used"),
            ("候选人", len(dr.candidates), f"{dr.kind}-candidates"),
        ]
    )
    if dr.blocked:
        return title + head + f'<p class="muted" data-blocked="{dr.kind}">{esc(dr.blocked)}</p>'
    if dr.kind == "cleanup":
        how = (
            "确认后机器人移出所选成员。"
            if dr.can_act
            else "本平台不支持机器人移出成员：确认后把名单发给群主和管理员，请手动移出。"
        )
    else:
        target = f"「{dr.target_group}」（{dr.link or '未设置入群链接'}）"
        how = (
            f"确认后机器人私信邀请所选成员加入 {target}；入群后记为已晋升。"
            if dr.can_act
            else f"本平台不支持机器人私聊成员：确认后把名单发给群主，请邀请他们加入 {target}。"
        )
    rows = [
        (
            f'<input type="checkbox" name="uid" value="{esc(c.user_id)}" checked>',
            c.name,
            c.user_id,
            c.figure,
        )
        for c in dr.candidates
    ]
    listing = table(
        ["选择", "成员", "ID", FIGURE_CN[dr.kind]],
        rows,
        raw=(0,),
        numeric=(3,),
        attrs=f'data-table="{dr.kind}"',
        empty="今天没有候选人",
    )
    who = principal_of(request)
    button = f'<button type="submit">确认{esc(KIND_CN[dr.kind])}</button>' if dr.candidates else ""
    if who is None or not who.may(MEMBER_ROLE):
        button = '<p class="muted" data-readonly="1">确认需要「管理员」权限。</p>'

    action = f"{_path(dr.group_id)}/{dr.kind}"
    return (
        f"{title}{head}<p>{esc(how)}员工（群主、管理员、机器人）和白名单成员从不在名单中。</p>"
        f'<form method="post" action="{esc(action)}" data-form="{dr.kind}">{form_guard(request)}'
        f'<input type="hidden" name="digest" value="{esc(dr.digest)}">{listing}{button}</form>'
    )


async def _run_html(request: web.Request, gid: str, raw: str) -> str:
    if not raw.isdigit() or len(raw) > 12:
        return ""
    async with bot_of(request).db.read() as s:
        view = await report(s, int(raw))
    if view is None or view.run.group_id != gid:
        return '<p class="bad">没有这条记录</p>'
    r = view.run
    counts = "，".join(f"{STATE_CN.get(k, k)} {n}" for k, n in sorted(view.counts.items()))
    rows = [
        (
            m.name,
            m.user_id,
            STATE_CN.get(m.state, m.state),
            m.reason,
            when(m.done_at, request, gid),
            when(m.joined_at, request, gid),
        )
        for m in view.members
    ]
    return (
        f"<h2>#{r.id} {esc(KIND_CN.get(r.kind, r.kind))}</h2>"
        f"<p>{esc(when(r.created_at, request, gid))} · 操作人 {esc(r.actor)} · {esc(counts)}</p>"
        + table(
            ["成员", "ID", "状态", "原因", "处理时间", "入群时间"],
            rows,
            attrs=f'data-table="run-{r.id}"',
        )
    )


async def show(request: web.Request, note: str = "", status: int = 200) -> web.Response:
    bot = bot_of(request)
    gid, name = await load_group(request)
    now = bot.clock.now()
    async with bot.db.read() as s:
        runs = [await dry_run(s, bot.config, k, gid, now) for k in KINDS]
        history = await runs_of(s, gid)
    past = table(
        ["记录", "时间", "操作", "操作人", "状态"],
        [
            (
                link(f"{_path(gid)}?run={r.id}", f"#{r.id}"),
                when(r.created_at, request, gid),
                KIND_CN.get(r.kind, r.kind),
                r.actor,
                "进行中" if r.status == "running" else "已完成",
            )
            for r in history
        ],
        raw=(0,),
        attrs='data-table="runs"',
        empty="还没有执行过",
    )
    body = (
        group_tabs(request, gid, name)
        + note
        + await _run_html(request, gid, request.query.get("run", ""))
        + "".join(_dry_run_html(request, dr) for dr in runs)
        + "<h2>执行记录</h2>"
        + past
    )
    return page(request, f"{name} · 清理/晋升", body, status=status)


async def actions_page(request: web.Request) -> web.Response:
    return await show(request)


async def confirm_post(request: web.Request) -> web.Response:
    """Confirm a dry run from the page (the same checks as the API; admin role)."""
    require_role(request, MEMBER_ROLE)
    gid, _name = await load_group(request)
    kind = request.match_info["kind"]
    if kind not in KINDS:
        raise web.HTTPNotFound()
    form = await checked_form(request)
    digest = form.get("digest", "")
    chosen = [u for u in form.getall("uid", []) if 0 < len(u) <= 128][:500]
    if len(digest) != 64 or not chosen:
        note = '<p class="bad" data-error="chosen">请至少选择一名成员</p>'
        return await show(request, note, status=400)
    try:
        run_id, _new = await run_confirmed(request, gid, kind, digest, chosen, actor(request))
    except Refused as exc:
        return await show(request, f'<p class="bad" data-error="refused">{esc(exc)}</p>', 400)
    except (Changed, OverCap) as exc:
        return await show(request, f'<p class="bad" data-error="changed">{esc(exc)}</p>', 409)
    return web.Response(status=303, headers={"Location": f"{_path(gid)}?run={run_id}"})
