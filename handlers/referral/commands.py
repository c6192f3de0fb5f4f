"""Invite events, settlement and the members' commands (/邀请, /邀请榜).

Rules: joins and leaves update the ledger in the event's unit of work; the settlement job
turns pending invites valid once they qualify and announces each tier an inviter reaches.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import templates
from bot.dispatch.context import Context
from bot.dispatch.router import Router, group_only
from bot.events import MemberJoined, MemberLeft, Scheduled
from handlers.referral import ledger
from handlers.referral.config import ReferralConfig
from storage.models import Member

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
T_TIER = templates.register(
    "referral.tier_reached",
    "🎉 恭喜 {name} 已有效邀请 {count} 位好友，获得「{reward}」！发送 /领奖 领取",
    *V,
    "count",
    "reward",
)


def tiers_crossed(cfg: ReferralConfig, before: int, after: int) -> list[tuple[int, str]]:
    return [(t.invites, t.reward) for t in cfg.tiers if before < t.invites <= after]


@router.on(MemberJoined, group_only)
async def on_join(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, MemberJoined)
    await ledger.record_join(ctx, ev.user_id, ev.inviter_id, ev.inviter_source, ctx.first_join)


@router.on(MemberLeft, group_only)
async def on_leave(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, MemberLeft)
    await ledger.record_leave(ctx, ev.user_id)


async def active_since(ctx: Context, group_id: str, user_id: str, since: object) -> bool:
    from handlers.checkin import has_checked_in

    member = await ctx.session.get(Member, (group_id, user_id))
    spoke = member is not None and member.last_active_at is not None and member.messages > 0
    return spoke or await has_checked_in(ctx.session, group_id, user_id, since)  # type: ignore[arg-type]


@router.on(Scheduled)
async def settle(ctx: Context) -> None:
    """Make qualified pending invites valid; announce tiers reached. Idempotent."""
    ev = ctx.event
    assert isinstance(ev, Scheduled)
    if ev.job != "referral.settle":
        return
    now = ctx.now()
    groups = [g.id for g in ctx.config.groups] or [None]
    shortest = min(ctx.config.feature("referral", g).qualify_days for g in groups)
    for inv in await ledger.due_pending(ctx.session, now, shortest):
        cfg: ReferralConfig = ctx.config.feature("referral", inv.group_id)
        if now - inv.joined_at < timedelta(days=cfg.qualify_days):
            continue
        member = await ctx.session.get(Member, (inv.group_id, inv.invitee_id))
        if member is None or not member.in_group:
            continue
        if cfg.require_activity and not await active_since(
            ctx, inv.group_id, inv.invitee_id, inv.joined_at
        ):
            continue
        before = (await ledger.invite_counts(ctx.session, inv.group_id, inv.inviter_id))["valid"]
        await ledger.qualify(ctx.session, inv, now)
        await ctx.audit("referral.valid", inv.invitee_id, inviter=inv.inviter_id)
        for count, reward in tiers_crossed(cfg, before, before + 1):
            name = await ctx.session.scalar(
                select(Member.name).where(
                    Member.group_id == inv.group_id, Member.user_id == inv.inviter_id
                )
            )
            text = ctx.render(T_TIER, name=name or inv.inviter_id, count=count, reward=reward)
            await ctx.send(
                inv.group_id, text, idem_key=f"tier:{inv.group_id}:{inv.inviter_id}:{count}"
            )


@router.command("邀请", "invites", help="我的邀请进度", filters=(group_only,))
async def mine(ctx: Context) -> None:
    assert ctx.group_id is not None
    cfg: ReferralConfig = ctx.feature("referral")
    c = await ledger.invite_counts(ctx.session, ctx.group_id, ctx.user_id)
    nxt = next((t for t in cfg.tiers if t.invites > c["valid"]), None)
    name = await ctx.member_name(ctx.user_id)
    line = (
        ctx.render(T_NEXT, name=name, more=nxt.invites - c["valid"], reward=nxt.reward)
        if nxt
        else ctx.render(T_ALL, name=name)
        if cfg.tiers
        else ""
    )
    await ctx.reply(
        ctx.render(
            T_MINE, name=name, valid=c["valid"], pending=c["pending"], left=c["left"], next=line
        )
    )


@router.command("邀请榜", help="有效邀请排行", filters=(group_only,))
async def board(ctx: Context) -> None:
    assert ctx.group_id is not None
    rows = await ledger.invite_leaderboard(ctx.session, ctx.group_id, 10)
    if not rows:
        await ctx.reply(ctx.render(T_BOARD_EMPTY, name=""))
        return
    lines = "\n".join(f"{i}. {n}  {v}人" for i, (_u, n, v) in enumerate(rows, 1))
    await ctx.reply(ctx.render(T_BOARD, name="", lines=lines))
