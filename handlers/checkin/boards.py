"""``/签到榜`` and ``/签到设置``: read-only views of the committed state.

Rule: boards rank members by today's order, live streak, total days, points or this month's
days (seasons reset monthly; all-time totals stay); staff are left off when configured, and a
staff member asking for a board is told so (else an empty board after their own check-in
reads as a lost check-in). ``/签到榜`` alone is today's board; an unknown board name gets
the list of boards.
"""

from __future__ import annotations

from bot import Context, Role, Router, group_only, templates
from handlers.checkin.commands import cfg_of
from handlers.checkin.ranking import staff_of
from handlers.checkin.repo import Checkins

router = Router("checkin-boards")
V = ("name", "group", "bot")
T_BOARD = templates.register("checkin.board", "🏆 {title}\n{lines}", *V, "title", "lines")
T_EMPTY = templates.register(
    "checkin.board_empty", "🏆 {title}\n还没有人上榜，快来 /签到 吧！", *V, "title"
)
T_STAFF_OFF = templates.register(
    "checkin.board_staff_off", "（管理员和工作人员不上榜，你的签到照常记录）", *V
)
T_SETTINGS = templates.register("checkin.settings", "签到规则：\n{rules}", *V, "rules")
T_UNKNOWN_BOARD = templates.register(
    "checkin.board_unknown", "没有「{board}」这个榜单，可以看：{boards}", *V, "board", "boards"
)
# without a word: today's board
BOARDS = {
    "今日": ("today", "今日签到榜", "{v}分"),
    "连续": ("streak", "连续签到榜", "{v}天"),
    "总榜": ("total", "累计签到榜", "{v}天"),
    "积分": ("points", "积分榜", "{v}分"),
    "本月": ("month", "本月签到榜", "{v}天"),
}


@router.command(
    "签到榜", "rank", help="签到排行榜", usage="[今日|连续|总榜|积分|本月]", filters=(group_only,)
)
async def board(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    key = ctx.command.words[0] if ctx.command.words else "今日"
    if key not in BOARDS:
        names = "、".join(f"/签到榜 {b}" for b in BOARDS)
        await ctx.reply(ctx.render(T_UNKNOWN_BOARD, board=key[:24], boards=names))
        return
    kind, title, unit = BOARDS[key]
    cfg = cfg_of(ctx)
    exclude = staff_of(cfg, ctx.config.group_admins(ctx.group_id), ctx.config.bot.admins)
    today = ctx.local_day(cfg.reset_hour)
    rows = await ctx.repo(Checkins).board(ctx.group_id, kind, 10, today, exclude)
    if not rows:
        text = ctx.render(T_EMPTY, title=title)
    else:
        lines = "\n".join(
            f"{i}. {name}  {unit.format(v=v)}" for i, (_u, name, v) in enumerate(rows, 1)
        )
        text = ctx.render(T_BOARD, title=title, lines=lines)
    if ctx.user_id in exclude:  # a staff member who just checked in would look for themselves
        text += "\n" + ctx.render(T_STAFF_OFF)
    await ctx.reply(text)


@router.command("签到设置", help="查看本群签到规则", role=Role.ADMIN, filters=(group_only,))
async def settings(ctx: Context) -> None:
    cfg = cfg_of(ctx)
    tiers = "，".join(f"连续{n}天+{b}" for n, b in sorted(cfg.streak_bonus.items())) or "无"
    mult = "，".join(f"{d}×{m:g}" for d, m in cfg.weekday_multiplier.items()) or "无"
    camp = "，".join(f"{c.name} {c.start}~{c.end} ×{c.multiplier:g}" for c in cfg.campaigns) or "无"
    lines = [
        f"每天 {cfg.reset_hour:02d}:00 换日（{ctx.tz.key}）",
        f"基础积分 {cfg.base_points}；连续奖励：{tiers}",
        f"星期倍数：{mult}；活动倍数：{camp}",
        f"补签：每连续 {cfg.card_every} 天得 1 张卡，可补 {cfg.makeup_days} 天内",
        f"需要内容：{'是' if cfg.require_content else '否'}；"
        f"不带斜杠的“签到”：{'可以' if cfg.bare_word else '不行'}",
        f"榜单排除管理员：{'是' if cfg.exclude_staff else '否'}",
    ]
    await ctx.reply(ctx.render(T_SETTINGS, rules="\n".join(lines)))
