"""``/admin/groups/{gid}/leaderboards``: check-in and invite boards, VIP candidates and the
members who went quiet — the same queries as the API and ``groupbot report``. Each member's
name links to their profile (成员档案)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from bot.web_public import BOT, group_tabs, link, load_group, page, table
from handlers.checkin import board_staff, checkin_board
from handlers.members import inactive_members, vip_candidates
from handlers.referral import invite_leaderboard
from handlers.stats.config import StatsConfig

LIMIT = 20


def profile(gid: str, uid: str, name: str) -> str:
    """The member's name as a link to their profile (HTML, escaped)."""
    href = f"/admin/groups/{quote(gid, safe='')}/members/{quote(uid, safe='')}"
    return link(href, name or uid)


def board_table(gid: str, name: str, unit: str, rows: list[tuple[str, str, int]]) -> str:
    return table(
        ["名次", "成员", "ID", unit],
        [(i, profile(gid, u, n), u, v) for i, (u, n, v) in enumerate(rows, 1)],
        numeric=(0, 3),
        raw=(1,),
        attrs=f'data-board="{name}"',
    )


async def leaderboards_page(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    gid, name = await load_group(request)
    stats_cfg = bot.config.feature(StatsConfig, gid)
    now = bot.clock.now()
    tz = bot.config.timezone(gid)
    async with bot.db.read() as s:
        total = await checkin_board(s, bot.config, gid, "total", LIMIT, now)
        points = await checkin_board(s, bot.config, gid, "points", LIMIT, now)
        streak = await checkin_board(s, bot.config, gid, "streak", LIMIT, now)
        invites = await invite_leaderboard(s, gid, LIMIT)
        staff = board_staff(bot.config, gid)
        vips = await vip_candidates(s, gid, stats_cfg.vip_invite_weight, LIMIT, staff)
        idle = await inactive_members(s, gid, now, stats_cfg.inactive_days, LIMIT)
    vip_rows = [
        (i, profile(gid, v.user_id, v.name), v.user_id, v.checkins, v.invites, v.score)
        for i, v in enumerate(vips, 1)
    ]
    idle_rows = [
        (
            profile(gid, r.user_id, r.name),
            r.user_id,
            r.last_seen.astimezone(tz).strftime("%Y-%m-%d %H:%M") if r.last_seen else "从未",
            r.idle_days,
        )
        for r in idle
    ]
    body = (
        group_tabs(request, gid, name)
        + "<h2>签到总榜</h2>"
        + board_table(gid, "checkin", "签到天数", total)
        + "<h2>积分榜</h2>"
        + board_table(gid, "points", "积分", points)
        + "<h2>连续签到</h2>"
        + board_table(gid, "streak", "连续天数", streak)
        + "<h2>邀请榜（有效邀请）</h2>"
        + board_table(gid, "invites", "有效邀请", invites)
        + f"<h2>VIP 候选（签到天数 + {stats_cfg.vip_invite_weight} × 有效邀请）</h2>"
        + table(
            ["名次", "成员", "ID", "签到", "邀请", "得分"],
            vip_rows,
            numeric=(0, 3, 4, 5),
            raw=(1,),
            attrs='data-board="vip"',
        )
        + f"<h2>沉默成员（{stats_cfg.inactive_days} 天未发言也未签到）</h2>"
        + table(
            ["成员", "ID", "最后活跃", "沉默天数"],
            idle_rows,
            numeric=(3,),
            raw=(0,),
            attrs='data-board="inactive"',
        )
    )
    return page(request, f"{name} 排行榜", body)
