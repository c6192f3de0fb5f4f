"""``/节目表 [下周]``: this group's programme for the week, with what was sent or skipped."""

from __future__ import annotations

from datetime import timedelta

from bot import Context, Router, group_only, templates
from handlers.programme.caps import excesses, week_months
from handlers.programme.repo import Ledger
from handlers.programme.table import STATUS_CN, monday_of

router = Router("programme-commands")
T_WEEK = templates.register(
    "programme.week", "📅 {title}\n{lines}", "title", "lines", "group", "bot"
)
T_EMPTY = templates.register(
    "programme.empty", "📅 {title}\n本周没有安排节目。", "title", "group", "bot"
)


@router.command(
    "节目表", "programme", help="本群这周的节目表", usage="[下周]", filters=(group_only,)
)
async def show_week(ctx: Context) -> None:
    assert ctx.command is not None
    monday = monday_of(ctx.local_now().date())
    title = "本周节目表"
    if ctx.command.words and ctx.command.words[0] in ("下周", "next"):
        monday += timedelta(days=7)
        title = "下周节目表"
    rows = await ctx.repo(Ledger).week(ctx.config, ctx.group_id, monday, ctx.now())
    if not rows:
        await ctx.reply(ctx.render(T_EMPTY, title=title))
        return
    lines = []
    for occ, status in rows:
        local = occ.at.astimezone(ctx.tz)
        day = f"{local:%m-%d} 周{'一二三四五六日'[local.weekday()]} {local:%H:%M}"
        lines.append(f"{day} {occ.slot.theme or occ.slot.id} [{STATUS_CN[status]}]")
    lines += [e.chinese() for e in excesses(ctx.config, week_months(monday), ctx.group_id)]
    await ctx.reply(ctx.render(T_WEEK, title=title, lines="\n".join(lines)))
