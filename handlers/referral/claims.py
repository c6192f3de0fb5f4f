"""Claiming rewards (/领奖) and the reward-code pool.

Rules:
- ``/领奖`` claims every reached, unclaimed tier once: a unique (group, member, tier) row.
- Each claim takes one free code of its tier (a code can be taken once); codes go out in a
  private message, never into the group.
- With the pool empty the claim stays pending, admins are told, and it is fulfilled (and the
  member told privately) as soon as codes are imported.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import templates
from bot.config import Config
from bot.dispatch.context import Context
from bot.dispatch.router import Router, group_only
from bot.outbox.queue import enqueue
from handlers.referral import ledger
from handlers.referral.config import ReferralConfig
from storage.dialect import insert_ignore
from storage.models_referral import RewardClaim, RewardCode

router = Router("referral-claims")
V = ("name", "group", "bot")
T_CODE = templates.register(
    "referral.code", "🎁 你的奖励「{reward}」兑换码：{code}", *V, "reward", "code"
)
T_CLAIMED = templates.register(
    "referral.claimed", "✅ {name} 领取了 {n} 个奖励，兑换码已私信发送{pending}", *V, "n", "pending"
)
T_PENDING = templates.register(
    "referral.claim_pending", "，其中 {n} 个奖品正在补货，到货后私信通知", *V, "n"
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


async def take_code(session: AsyncSession, claim_id: int, tier: int) -> str | None:
    """Give one free code of ``tier`` to the claim (None when the pool is empty)."""
    for _ in range(3):  # another instance may take the same free code first
        code = await session.scalar(
            select(RewardCode.code)
            .where(RewardCode.tier == tier, RewardCode.claim_id.is_(None))
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
        if res.rowcount:  # type: ignore[attr-defined]
            return str(code)
    return None


def private_channel(config: Config, group_id: str) -> str:
    g = config.group(group_id)
    return "onebot" if g is not None and g.platform == "onebot" else "console"


async def send_code(
    session: AsyncSession, config: Config, now: datetime, claim: RewardClaim, code: str
) -> None:
    channel = private_channel(config, claim.group_id)
    text = templates.render(config, T_CODE, claim.group_id, reward=claim.reward, code=code, name="")
    await enqueue(
        session,
        now=now,
        channel=channel,
        target=f"{channel}:private:{claim.user_id}",
        action="private_text",
        payload={"text": text, "user_id": claim.user_id, "group_id": claim.group_id},
        group_id=claim.group_id,
        idem_key=f"reward:{claim.id}",
    )


@router.command("领奖", "claim", help="领取邀请奖励", filters=(group_only,))
async def claim(ctx: Context) -> None:
    assert ctx.group_id is not None
    cfg: ReferralConfig = ctx.feature("referral")
    name = await ctx.member_name(ctx.user_id)
    valid = (await ledger.invite_counts(ctx.session, ctx.group_id, ctx.user_id))["valid"]
    table = RewardClaim.__table__
    new = pending = 0
    for tier in (t for t in cfg.tiers if t.invites <= valid):
        stmt = insert_ignore(ctx.session, table, ["group_id", "user_id", "tier"]).returning(
            table.c.id
        )
        row = dict(
            group_id=ctx.group_id,
            user_id=ctx.user_id,
            tier=tier.invites,
            reward=tier.reward,
            code="",
            status="pending",
            claimed_at=ctx.now(),
        )
        claim_id = (await ctx.session.execute(stmt, [row])).scalar()
        if claim_id is None:
            continue  # claimed before: never twice
        new += 1
        c = await ctx.session.get(RewardClaim, claim_id)
        assert c is not None
        code = await take_code(ctx.session, claim_id, tier.invites)
        if code is None:
            pending += 1
            await ctx.notify_admins(ctx.render(T_EMPTY_POOL, name=name, reward=tier.reward))
        else:
            c.code, c.status, c.fulfilled_at = code, "fulfilled", ctx.now()
            await send_code(ctx.session, ctx.config, ctx.now(), c, code)
        await ctx.audit(
            "referral.claim", ctx.user_id, tier=tier.invites, fulfilled=code is not None
        )
    if not new:
        await ctx.reply(ctx.render(T_NOTHING, name=name))
        return
    extra = ctx.render(T_PENDING, name=name, n=pending) if pending else ""
    await ctx.reply(ctx.render(T_CLAIMED, name=name, n=new, pending=extra))


async def add_codes(session: AsyncSession, now: datetime, rows: list[tuple[int, str]]) -> int:
    """Put codes in the pool (duplicates ignored); returns how many were new."""
    if not rows:
        return 0
    table = RewardCode.__table__
    stmt = insert_ignore(session, table, ["code"]).returning(table.c.id)
    values = [dict(tier=t, code=c, claim_id=None, added_at=now) for t, c in rows]
    return len((await session.execute(stmt, values)).all())


async def fulfil_pending(session: AsyncSession, config: Config, now: datetime) -> int:
    """Give waiting claims their codes now that the pool has some; returns how many."""
    done = 0
    for c in (
        await session.scalars(
            select(RewardClaim).where(RewardClaim.status == "pending").order_by(RewardClaim.id)
        )
    ).all():
        code = await take_code(session, c.id, c.tier)
        if code is None:
            continue
        c.code, c.status, c.fulfilled_at = code, "fulfilled", now
        await send_code(session, config, now, c, code)
        done += 1
    return done
