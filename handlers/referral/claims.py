"""Claiming rewards (/领奖) and the reward-code pool.

Rules:
- ``/领奖`` claims every reached, unclaimed tier once: a unique (group, member, tier) row, so
  double taps, redeliveries and parallel instances cannot claim twice.
- Each claim takes one free code of its tier from its group's pool (handlers/referral/pools.py;
  a conditional update plus a unique ``claim_id``: a code goes to one claim only).
- Codes go out privately where the platform allows it (OneBot, console); never into the group.
  Elsewhere (WeCom groups) the admins are asked to hand the code over privately.
- With the pool empty the claim stays pending and admins are told; importing codes fulfils
  the waiting claims of that pool at once, oldest first, and tells each member privately.
"""

from __future__ import annotations

from bot import Context, Router, group_only, templates
from handlers.referral.config import ReferralConfig
from handlers.referral.pools import pool_of
from handlers.referral.repo import Referrals
from handlers.referral.rewards import Handover, add_codes, fulfil_pending, handover_text, take_code

__all__ = ["Handover", "add_codes", "fulfil_pending", "handover_text", "take_code"]

router = Router("referral-claims")
V = ("name", "group", "bot")
T_CLAIMED = templates.register(
    "referral.claimed", "✅ {name} 领取了 {n} 个奖励，{how}{pending}", *V, "n", "how", "pending"
)
T_HOW_PRIVATE = templates.register("referral.how_private", "兑换码已私信发送", *V)
T_HOW_ADMIN = templates.register("referral.how_admin", "管理员会私下把兑换码发给你", *V)
T_PENDING = templates.register(
    "referral.claim_pending", "，其中 {n} 个奖品正在补货，到货后通知你", *V, "n"
)
T_WAITING = templates.register(
    "referral.claim_waiting", "⏳ {name} 的 {n} 个奖励已登记，奖品正在补货，到货后通知你", *V, "n"
)
T_NOTHING = templates.register(
    "referral.nothing", "{name} 暂时没有可领取的奖励，发送 /邀请 查看进度", *V
)
T_EMPTY_POOL = templates.register(
    "referral.pool_empty",
    "⚠️ 奖品「{reward}」兑换码已用完，{name} 的领取在等待补货（groupbot rewards import）",
    *V,
    "reward",
)


@router.command("领奖", "claim", help="领取邀请奖励", filters=(group_only,))
async def claim(ctx: Context) -> None:
    """Claim every reached tier not claimed before."""
    assert ctx.group_id is not None
    cfg = ctx.feature(ReferralConfig)
    name = await ctx.member_name(ctx.user_id)
    referrals = ctx.repo(Referrals)
    valid = (await referrals.counts(ctx.group_id, ctx.user_id))["valid"]
    new = pending = handed = 0
    pool = pool_of(ctx.config, ctx.group_id)
    for tier in (t for t in cfg.tiers if t.invites <= valid):
        row = dict(
            group_id=ctx.group_id,
            user_id=ctx.user_id,
            tier=tier.invites,
            reward=tier.reward,
            code="",
            status="pending",
            claimed_at=ctx.now(),
        )
        claim_id = await referrals.new_claim(row)
        if claim_id is None:
            continue  # claimed before: never twice
        new += 1
        code, h = await referrals.hand_out(ctx.config, claim_id, tier.invites, pool, ctx.now())
        if code is None:
            pending += 1
            await ctx.notify_admins(ctx.render(T_EMPTY_POOL, name=name, reward=tier.reward))
        elif h is not None:
            handed += 1
            await ctx.notify_admins(handover_text(ctx.config, h))
        await ctx.audit("referral.claim", ctx.user_id, tier=tier.invites, fulfilled=bool(code))
    if not new:
        await ctx.reply(ctx.render(T_NOTHING, name=name))
        return
    if pending == new:  # nothing was sent: never say a code is on its way
        await ctx.reply(ctx.render(T_WAITING, name=name, n=new))
        return
    how = ctx.render(T_HOW_ADMIN if handed else T_HOW_PRIVATE, name=name)
    extra = ctx.render(T_PENDING, name=name, n=pending) if pending else ""
    await ctx.reply(ctx.render(T_CLAIMED, name=name, n=new, how=how, pending=extra))
