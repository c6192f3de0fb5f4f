"""``/我的``: a member's own check-ins, points and invites in one reply.

It lives with invites because invites build on check-ins (an invitee counts once active, see
``settle``): this feature reads check-ins through ``handlers.checkin``, never the other way.
The template keeps its historical key ``checkin.mine``.
"""

from __future__ import annotations

from bot import Context, Router, group_only, templates
from handlers.checkin import my_checkins
from handlers.referral.repo import Referrals

router = Router("referral-mine")
V = ("name", "group", "bot")
T_MINE = templates.register(
    "checkin.mine",
    "📋 {name} 的数据\n签到：累计 {total} 天，连续 {streak} 天（最长 {best}），本月 {month} 天\n"
    "积分：{points}（本月 {month_points}）  补签卡：{cards} 张\n"
    "邀请：有效 {valid}，待确认 {pending}，已退群 {left}",
    *V,
    "total",
    "streak",
    "best",
    "month",
    "points",
    "month_points",
    "cards",
    "valid",
    "pending",
    "left",
)


@router.command("我的", "me", help="我的签到、积分和邀请", filters=(group_only,))
async def mine(ctx: Context) -> None:
    assert ctx.group_id is not None
    c = await my_checkins(ctx, ctx.user_id)
    inv = await ctx.repo(Referrals).counts(ctx.group_id, ctx.user_id)
    await ctx.reply(
        ctx.render(
            T_MINE,
            name=await ctx.member_name(ctx.user_id),
            total=c.total,
            streak=c.streak,
            best=c.best,
            month=c.month,
            points=c.points,
            month_points=c.month_points,
            cards=c.cards,
            valid=inv["valid"],
            pending=inv["pending"],
            left=inv["left"],
        )
    )
