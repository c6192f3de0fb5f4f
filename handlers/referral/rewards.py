"""The reward-code pool: codes in, a free code to a claim, the code out to the member.

Rules:
- A code goes to one claim only (a conditional update on a free code).
- Codes go out privately where the platform allows it (OneBot, console); never into the
  group. Elsewhere the admins are asked to hand the code over (a ``Handover``).
- Importing codes fulfils the waiting claims of that pool at once, oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, queue_private_text, templates
from handlers.referral.pools import pool_of
from storage.dialect import insert_ignore, rowcount
from storage.models import Group, Member
from storage.models_referral import RewardClaim, RewardCode

V = ("name", "group", "bot")
PRIVATE_PLATFORMS = ("onebot", "console")
T_CODE = templates.register(
    "referral.code", "🎁 你的奖励「{reward}」兑换码：{code}", *V, "reward", "code"
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


async def platform_of(session: AsyncSession, config: Config, group_id: str) -> str:
    g = config.group(group_id)
    if g is not None:
        return g.platform
    return await session.scalar(select(Group.platform).where(Group.id == group_id)) or ""


async def deliver(
    session: AsyncSession, config: Config, now: datetime, claim: RewardClaim, code: str
) -> Handover | None:
    """Mark the claim fulfilled and send the code privately; a Handover when we cannot."""
    claim.code, claim.status, claim.fulfilled_at = code, "fulfilled", now
    platform = await platform_of(session, config, claim.group_id)
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
