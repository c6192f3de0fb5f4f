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

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, Context, Router, group_only, queue_private_text, templates
from handlers.referral import ledger
from handlers.referral.config import ReferralConfig
from handlers.referral.pools import pool_of
from storage.dialect import insert_ignore, rowcount
from storage.models import Group, Member
from storage.models_referral import RewardClaim, RewardCode

router = Router("referral-claims")
V = ("name", "group", "bot")
PRIVATE_PLATFORMS = ("onebot", "console")
T_CODE = templates.register(
    "referral.code", "🎁 你的奖励「{reward}」兑换码：{code}", *V, "reward", "code"
)
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
T_HANDOVER = templates.register(
    "referral.handover",
    "🎁 请私下把「{reward}」兑换码 {code} 发给 {name}（{group}）",
    *V,
    "reward",
    "code",
)


@dataclass(frozen=True, slots=True)
class Handover:
    """A code that could not be sent privately: an admin must pass it on."""

    group_id: str
    user_id: str
    name: str
    reward: str
    code: str


async def take_code(session: AsyncSession, claim_id: int, tier: int, pool: str) -> str | None:
    """Give one free code of ``tier`` in ``pool`` to the claim (None when there is none)."""
    for _ in range(5):  # another instance may take the same free code first
        code = await session.scalar(
            select(RewardCode.code)
            .where(RewardCode.pool == pool, RewardCode.tier == tier, RewardCode.claim_id.is_(None))
            .order_by(RewardCode.id)
            .limit(1)
        )
        if code is None:
            return None
        res = await session.execute(
            update(RewardCode)
            .where(RewardCode.code == code, RewardCode.claim_id.is_(None))
            .values(claim_id=claim_id)
        )
        if rowcount(res):
            return str(code)
    return None


async def _platform(session: AsyncSession, config: Config, group_id: str) -> str:
    g = config.group(group_id)
    if g is not None:
        return g.platform
    return await session.scalar(select(Group.platform).where(Group.id == group_id)) or ""


async def deliver(
    session: AsyncSession, config: Config, now: datetime, claim: RewardClaim, code: str
) -> Handover | None:
    """Mark the claim fulfilled and send the code privately; a Handover when we cannot."""
    claim.code, claim.status, claim.fulfilled_at = code, "fulfilled", now
    platform = await _platform(session, config, claim.group_id)
    if platform not in PRIVATE_PLATFORMS:
        name = await session.scalar(
            select(Member.name).where(
                Member.group_id == claim.group_id, Member.user_id == claim.user_id
            )
        )
        return Handover(claim.group_id, claim.user_id, name or claim.user_id, claim.reward, code)
    text = templates.render(config, T_CODE, claim.group_id, reward=claim.reward, code=code, name="")
    await queue_private_text(
        session,
        now=now,
        platform=platform,
        user_id=claim.user_id,
        text=text,
        group_id=claim.group_id,
        idem_key=f"reward:{claim.id}",
    )
    return None


def handover_text(config: Config, h: Handover) -> str:
    g = config.group(h.group_id)
    group = g.name if g and g.name else h.group_id
    return templates.render(
        config, T_HANDOVER, h.group_id, reward=h.reward, code=h.code, name=h.name, group=group
    )


async def _new_claim(ctx: Context, tier: int, reward: str) -> RewardClaim | None:
    """The claim row for a tier, or None when it was claimed before (unique constraint)."""
    table = RewardClaim.__table__
    stmt = insert_ignore(ctx.session, table, ["group_id", "user_id", "tier"]).returning(table.c.id)
    row = dict(
        group_id=ctx.group_id,
        user_id=ctx.user_id,
        tier=tier,
        reward=reward,
        code="",
        status="pending",
        claimed_at=ctx.now(),
    )
    claim_id = (await ctx.session.execute(stmt, [row])).scalar()
    return None if claim_id is None else await ctx.session.get(RewardClaim, claim_id)


@router.command("领奖", "claim", help="领取邀请奖励", filters=(group_only,))
async def claim(ctx: Context) -> None:
    """Claim every reached tier not claimed before."""
    assert ctx.group_id is not None
    cfg = ctx.feature(ReferralConfig)
    name = await ctx.member_name(ctx.user_id)
    valid = (await ledger.invite_counts(ctx.session, ctx.group_id, ctx.user_id))["valid"]
    new = pending = handed = 0
    pool = pool_of(ctx.config, ctx.group_id)
    for tier in (t for t in cfg.tiers if t.invites <= valid):
        c = await _new_claim(ctx, tier.invites, tier.reward)
        if c is None:
            continue  # claimed before: never twice
        new += 1
        code = await take_code(ctx.session, c.id, tier.invites, pool)
        if code is None:
            pending += 1
            await ctx.notify_admins(ctx.render(T_EMPTY_POOL, name=name, reward=tier.reward))
        else:
            h = await deliver(ctx.session, ctx.config, ctx.now(), c, code)
            if h is not None:
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


async def add_codes(
    session: AsyncSession, now: datetime, rows: list[tuple[int, str]], pool: str
) -> int:
    """Put codes in ``pool`` (codes already known are ignored); returns how many were new."""
    if not rows:
        return 0
    table = RewardCode.__table__
    stmt = insert_ignore(session, table, ["code"]).returning(table.c.id)
    values = [dict(pool=pool, tier=t, code=c, claim_id=None, added_at=now) for t, c in rows]
    return len((await session.execute(stmt, values)).all())


async def fulfil_pending(
    session: AsyncSession, config: Config, now: datetime, pool: str
) -> tuple[int, list[Handover]]:
    """Give the waiting claims of ``pool`` their codes, oldest first; (how many, codes to
    hand over). Claims of groups drawing from other pools are left waiting."""
    done, handovers = 0, []
    waiting = await session.scalars(
        select(RewardClaim).where(RewardClaim.status == "pending").order_by(RewardClaim.id)
    )
    for c in waiting.all():
        if pool_of(config, c.group_id) != pool:
            continue
        code = await take_code(session, c.id, c.tier, pool)
        if code is None:
            continue
        done += 1
        h = await deliver(session, config, now, c, code)
        if h is not None:
            handovers.append(h)
    return done, handovers
