"""``/admin/groups/{gid}/programme``: this week's programme of one group, with the status
of each occurrence. Everything shown is escaped; times are in the group's timezone."""

from __future__ import annotations

from datetime import UTC
from html import escape

from aiohttp import web

from bot.web_public import BOT, cards, excerpt, group_tabs, load_group, page, table, when
from handlers.groupmsg import STATE_CN, states_for
from handlers.programme.caps import excesses, week_months
from handlers.programme.slots import occurrence_key
from handlers.programme.table import STATUS_CN, monday_of, week

CHANNEL_CN = {"post": "群内发送", "groupmsg": "企业群发", "reminder": "提醒群主"}

STATUS_CLASS = {
    "sent": "ok",
    "failed": "bad",
    "skipped": "warn",
    "before_start": "muted",
    "pending": "muted",
    "cancelled": "muted",
}


async def programme_page(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    gid, name = await load_group(request)
    now = bot.clock.now()
    monday = monday_of(now.astimezone(bot.config.timezone(gid)).date())
    async with bot.db.read() as s:
        rows = await week(bot.config, s, gid, monday, now)
        keys = [occurrence_key(o.slot.id, o.group_id, o.at.astimezone(UTC)) for o, _ in rows]
        delivery = await states_for(s, keys)
    out = []
    for (occ, status), key in zip(rows, keys, strict=True):
        channel, state, reason = delivery.get(key, ("post", "", ""))
        how = CHANNEL_CN[channel] + (f"：{STATE_CN.get(state, state)}" if state else "")
        how_cell = f'<span data-delivery="{state}" title="{escape(reason)}">{escape(how)}</span>'
        first = (occ.slot.content or (occ.slot.pool[0] if occ.slot.pool else "")).splitlines()
        cls = STATUS_CLASS[status]
        badge = f'<span class="{cls}" data-status="{status}">{STATUS_CN[status]}</span>'
        out.append(
            (
                when(occ.at, request, gid),
                occ.slot.theme or occ.slot.id,
                occ.slot.id,
                badge,
                how_cell,
                excerpt(first[0] if first else ""),
            )
        )
    counts = {st: sum(1 for _, x in rows if x == st) for st in STATUS_CN}
    head = cards([(STATUS_CN[st], n, st) for st, n in counts.items()])
    grid = table(
        ["时间", "主题", "节目", "状态", "送达", "内容"],
        out,
        raw=(3, 4),
        wrap=(5,),
        attrs='data-table="programme"',
    )
    warn = "".join(
        f'<p class="warn" data-cap="{e.period}">{escape(e.chinese())}</p>'
        for e in excesses(bot.config, week_months(monday), gid)
    )
    title = f"<h2>本周节目（{monday:%m-%d} 起）</h2>"
    body = f"{group_tabs(request, gid, name)}{title}{warn}{head}<br>{grid}"
    return page(request, f"{name} 本周节目", body)
