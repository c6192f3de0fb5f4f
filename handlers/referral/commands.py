"""Joins and leaves into the ledger, and the members' commands (/邀请, /邀请榜).

Rules:
- Attribution in order of trust: the platform's inviter (OneBot invite notice, WeCom invitor,
  or a console join) first; else a WeCom join-code ``state`` naming a member's referral code.
  A join with neither stays unattributed unless an admin uses /归属.
- Joins and leaves update the ledger in the event's own unit of work.
- /邀请 shows valid, pending and left invites and the next tier; /邀请榜 ranks valid invites.
"""

from __future__ import annotations

from bot import Context, MemberJoined, MemberLeft, Router, group_only, templates
from handlers.referral import ledger
from handlers.referral.config import ReferralConfig
from handlers.referral.repo import Referrals

router = Router("referral")
V = ("name", "group", "bot")
T_MINE = templates.register(
    "referral.mine",
    "🤝 {name} 的邀请：有效 {valid} 人，待确认 {pending} 人，已退群 {left} 人\n{next}",
    *V,
    "valid",
    "pending",
    "left",
    "next",
)
T_NEXT = templates.register(
    "referral.next", "再邀请 {more} 位有效好友可得「{reward}」", *V, "more", "reward"
)
T_ALL = templates.register("referral.all_tiers", "已达成全部奖励档位，发送 /领奖 领取", *V)
T_BOARD = templates.register("referral.board", "🤝 邀请榜\n{lines}", *V, "lines")
T_BOARD_EMPTY = templates.register(
    "referral.board_empty", "🤝 邀请榜\n还没有有效邀请，快邀请好友进群吧！", *V
)
BOARD_SIZE = 10


async def attribution(ctx: Context, ev: MemberJoined) -> tuple[str, str]:
    """(inviter, source) for a join; ``("", "")`` when unattributed."""
    if ev.inviter_id and ev.inviter_source:
        return ev.inviter_id, ev.inviter_source
    if ev.state and ctx.group_id is not None:
        who = await ctx.repo(Referrals).referrer(ctx.group_id, ev.state)
        if who:
            return who, "wecom_state"
    return "", ""


@router.on(MemberJoined, group_only)
async def on_join(ctx: Context) -> None:
    """A newcomer: a ``pending`` (or ``fake`` for a rejoin) ledger row when attributed."""
    ev = ctx.event
    assert isinstance(ev, MemberJoined)
    if ctx.is_self(ev.user_id):
        return
    inviter, source = await attribution(ctx, ev)
    if inviter:
        await ledger.record_join(ctx, ev.user_id, inviter, source, ctx.first_join)


@router.on(MemberLeft, group_only)
async def on_leave(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, MemberLeft)
    await ledger.record_leave(ctx, ev.user_id)


@router.command("邀请", "invites", help="我的邀请进度", filters=(group_only,))
async def mine(ctx: Context) -> None:
    assert ctx.group_id is not None
    cfg = ctx.feature(ReferralConfig)
    c = await ctx.repo(Referrals).counts(ctx.group_id, ctx.user_id)
    nxt = next((t for t in cfg.tiers if t.invites > c["valid"]), None)
    name = await ctx.member_name(ctx.user_id)
    if nxt is not None:
        line = ctx.render(T_NEXT, name=name, more=nxt.invites - c["valid"], reward=nxt.reward)
    else:
        line = ctx.render(T_ALL, name=name) if cfg.tiers else ""
    text = ctx.render(
        T_MINE, name=name, valid=c["valid"], pending=c["pending"], left=c["left"], next=line
    )
    await ctx.reply(text.rstrip())


@router.command("邀请榜", help="有效邀请排行", filters=(group_only,))
async def board(ctx: Context) -> None:
    assert ctx.group_id is not None
    rows = await ctx.repo(Referrals).leaderboard(ctx.group_id, BOARD_SIZE)
    if not rows:
        await ctx.reply(ctx.render(T_BOARD_EMPTY, name=""))
        return
    lines = "\n".join(f"{i}. {n}  {v}人" for i, (_u, n, v) in enumerate(rows, 1))
    await ctx.reply(ctx.render(T_BOARD, name="", lines=lines))
