"""Chat commands of the check-in feature.

Rules:
- ``/签到`` (``/打卡``, ``/checkin``) once per member per group per local day; a second try
  that day (or a day before the last check-in: a clock stepped back) says so and changes
  nothing, so last_day and the streak never go backwards. Content or an image is kept as
  proof; a group may require it.
- ``/补签 YYYY-MM-DD`` spends one make-up card to fill a missed day within the look-back
  window; it earns base points only and the streak is rebuilt.
- Admins grant cards (``/补签卡 @x N``) and void a day (``/撤销签到 @x 日期``, audited).
"""

from __future__ import annotations

from datetime import date

from bot import (
    STOP,
    Context,
    MessageReceived,
    Role,
    Router,
    group_only,
    not_command,
    number,
    templates,
)
from handlers.checkin import logic
from handlers.checkin.config import CheckinConfig
from handlers.checkin.repo import Checkins
from handlers.checkin.views import makeup_problem

router = Router("checkin")
V = ("name", "group", "bot")
T_OK = templates.register(
    "checkin.ok",
    "✅ {name} 签到成功！今天第 {rank} 位，连续 {streak} 天，累计 {total} 天，获得 {points} 积分"
    "（共 {total_points} 分）{extra}",
    *V,
    "rank",
    "streak",
    "total",
    "points",
    "total_points",
    "extra",
)
T_AGAIN = templates.register(
    "checkin.already", "{name} 今天已经签到过啦，明天再来～（连续 {streak} 天）", *V, "streak"
)
T_NEED = templates.register(
    "checkin.need_content", "本群打卡需要附上内容或图片，例如：/打卡 今天走了8000步", *V
)
T_MILESTONE = templates.register(
    "checkin.milestone", "🎉 {name} 连续签到 {streak} 天，太棒了！", *V, "streak"
)
T_CARD = templates.register("checkin.card", "获得补签卡 1 张（现有 {cards} 张）", *V, "cards")
T_MAKEUP_OK = templates.register(
    "checkin.makeup_ok",
    "✅ {name} 已补签 {day}，获得 {points} 积分，当前连续 {streak} 天，剩余补签卡 {cards} 张",
    *V,
    "day",
    "points",
    "streak",
    "cards",
)
T_MAKEUP_BAD = templates.register("checkin.makeup_bad", "补签失败：{reason}", *V, "reason")
T_GRANT = templates.register(
    "checkin.card_granted",
    "已给 {target} 发放补签卡 {n} 张（现有 {cards} 张）",
    *V,
    "target",
    "n",
    "cards",
)
T_VOID = templates.register(
    "checkin.voided", "已撤销 {target} 在 {day} 的签到", *V, "target", "day"
)
T_USAGE = templates.register("checkin.usage", "用法：{usage}", *V, "usage")
T_OFF = templates.register("checkin.disabled", "本群未开启签到", *V)


def cfg_of(ctx: Context) -> CheckinConfig:
    return ctx.feature(CheckinConfig)


async def do_checkin(ctx: Context, content: str) -> None:
    cfg = cfg_of(ctx)
    msg = ctx.message
    assert msg is not None and ctx.group_id is not None
    name = (ctx.member.name if ctx.member else "") or ctx.user_id  # shown names: bot/names.py
    if not cfg.enabled:
        await ctx.reply(ctx.render(T_OFF, name=name))
        return
    image = msg.images[0].url or msg.images[0].file if msg.images else ""
    if cfg.require_content and not content and not image:
        await ctx.reply(ctx.render(T_NEED, name=name))
        return
    day = ctx.local_day(cfg.reset_hour)
    checkins = ctx.repo(Checkins)
    st = await checkins.totals(ctx.group_id, ctx.user_id)
    later = st.last_day is not None and day < st.last_day  # the clock stepped back: done
    if later or await checkins.has_day(ctx.group_id, ctx.user_id, day):
        await ctx.reply(ctx.render(T_AGAIN, name=name, streak=st.streak))
        return
    streak = logic.next_streak(st.last_day, st.streak, day)
    points = logic.points_for(cfg, streak, day)
    await checkins.record(
        ctx.group_id,
        ctx.user_id,
        day,
        at=ctx.now(),
        points=points,
        streak=streak,
        content=content,
        image_url=image,
        event_id=ctx.event_id,
    )
    card = logic.earns_card(cfg, streak)
    st = await checkins.save_totals(
        ctx.group_id, ctx.user_id, logic.after_checkin(st, day, streak, points, card)
    )
    extra = []
    if card:
        extra.append(ctx.render(T_CARD, name=name, cards=st.cards))
    if streak in cfg.milestones:
        extra.append(ctx.render(T_MILESTONE, name=name, streak=streak))
    rank = await checkins.count_one(ctx.group_id, day)
    text = ctx.render(
        T_OK,
        name=name,
        rank=rank,
        streak=streak,
        total=st.total_days,
        points=points,
        total_points=st.points,
        extra=("\n" + "\n".join(extra)) if extra else "",
    )
    await ctx.reply(text)


@router.command(
    "签到", "打卡", "checkin", help="每日签到（可附内容）", usage="[内容]", filters=(group_only,)
)
async def checkin_cmd(ctx: Context) -> None:
    assert ctx.command is not None
    await do_checkin(ctx, ctx.command.raw_args)


@router.on(MessageReceived, group_only, not_command)
async def bare_word(ctx: Context) -> object:
    """``签到``/``打卡`` without the slash, where the group allows it."""
    msg = ctx.message
    cfg = cfg_of(ctx)
    if msg is None or not cfg.enabled or not cfg.bare_word:
        return None
    word, _, rest = msg.text.strip().partition(" ")
    if word not in ("签到", "打卡"):
        return None
    await do_checkin(ctx, rest.strip())
    return STOP


def parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@router.command(
    "补签", "makeup", help="用补签卡补签漏掉的一天", usage="YYYY-MM-DD", filters=(group_only,)
)
async def makeup(ctx: Context) -> None:
    cfg = cfg_of(ctx)
    assert ctx.command is not None and ctx.group_id is not None
    name = await ctx.member_name(ctx.user_id)
    if not cfg.enabled:
        await ctx.reply(ctx.render(T_OFF, name=name))
        return
    words = ctx.command.words
    day = parse_day(words[0]) if words else None
    today = ctx.local_day(cfg.reset_hour)
    checkins = ctx.repo(Checkins)
    st = await checkins.totals(ctx.group_id, ctx.user_id)
    reason = makeup_problem(ctx, cfg, day, today, st.cards)
    if not reason and day is not None:
        if await checkins.has_day(ctx.group_id, ctx.user_id, day):
            reason = "那天已经签到过了"
        else:
            await checkins.record(
                ctx.group_id,
                ctx.user_id,
                day,
                at=ctx.now(),
                points=cfg.base_points,
                streak=0,
                makeup=True,
                event_id=ctx.event_id,
            )
    if reason:
        await ctx.reply(ctx.render(T_MAKEUP_BAD, name=name, reason=reason))
        return
    await checkins.add_cards(ctx.group_id, ctx.user_id, -1)
    st = await checkins.rebuild(ctx.group_id, ctx.user_id, today)
    streak = logic.current_streak(await checkins.days(ctx.group_id, ctx.user_id), today)
    await ctx.audit("checkin.makeup", ctx.user_id, day=str(day))
    await ctx.reply(
        ctx.render(
            T_MAKEUP_OK,
            name=name,
            day=str(day),
            points=cfg.base_points,
            streak=streak,
            cards=st.cards,
        )
    )


@router.command(
    "补签卡", help="发放补签卡", usage="@成员 张数", role=Role.ADMIN, filters=(group_only,)
)
async def grant_cards(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    words = ctx.command.words
    n = number(words[-1], 1, 100) if words else 1
    if not ctx.command.mentions or n is None:
        await ctx.reply(ctx.render(T_USAGE, name="", usage="/补签卡 @成员 张数(1-100)"))
        return
    target = ctx.command.mentions[0]
    cards = await give_cards(ctx, target, n)
    name = await ctx.member_name(target)
    await ctx.reply(ctx.render(T_GRANT, name="", target=name, n=n, cards=cards))


async def give_cards(ctx: Context, target: str, n: int, by: str | None = None) -> int:
    """Give ``target`` ``n`` make-up cards in this group, audited (``by``: a staff member
    acting from the console, else the sender); the cards they have now. ``/补签卡`` and the
    console's member profile both give cards through here."""
    assert ctx.group_id is not None
    st = await ctx.repo(Checkins).add_cards(ctx.group_id, target, n)
    await ctx.audit("checkin.grant_cards", target, by=by, n=n)
    return st.cards


@router.command(
    "撤销签到",
    help="撤销某人某天的签到",
    usage="@成员 YYYY-MM-DD",
    role=Role.ADMIN,
    filters=(group_only,),
)
async def void(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    days = [d for d in (parse_day(w) for w in ctx.command.words) if d]
    if not ctx.command.mentions or not days:
        await ctx.reply(ctx.render(T_USAGE, name="", usage="/撤销签到 @成员 YYYY-MM-DD"))
        return
    target, day = ctx.command.mentions[0], days[0]
    checkins = ctx.repo(Checkins)
    if not await checkins.void(ctx.group_id, target, day):
        await ctx.reply(ctx.render(T_MAKEUP_BAD, name="", reason=f"{day} 没有可撤销的签到"))
        return
    await checkins.rebuild(ctx.group_id, target, ctx.local_day(cfg_of(ctx).reset_hour))
    await ctx.audit("checkin.void", target, day=str(day))
    await ctx.reply(ctx.render(T_VOID, name="", target=await ctx.member_name(target), day=str(day)))
