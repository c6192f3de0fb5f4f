"""Personal referral codes for join links (WeCom 加入群聊 ``state``).

Rules:
- Each member has one code per group, made on first use and never changed (stable), short
  (``r`` + 9 characters from an alphabet without look-alikes: 10 ≤ 30, WeCom's limit for
  ``state``) and unique by a database constraint; a collision simply draws another code.
- A code names its member in its own group only: a code used in another group attributes
  nobody (the newcomer stays unattributed).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert
from storage.models_referral import ReferralCode

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PREFIX = "r"
LENGTH = 9
MAX_LEN = 30


def new_code() -> str:
    """A fresh random code (not yet stored)."""
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


async def _stored(session: AsyncSession, group_id: str, user_id: str) -> str | None:
    return await session.scalar(
        select(ReferralCode.code).where(
            ReferralCode.group_id == group_id, ReferralCode.user_id == user_id
        )
    )


async def referral_code(
    session: AsyncSession, group_id: str, user_id: str, *, now: datetime | None = None
) -> str:
    """The member's referral code in the group, created on first call (inside the caller's
    transaction; safe when two instances ask at once: both get the row that won)."""
    code = await _stored(session, group_id, user_id)
    for _ in range(8):
        if code is not None:
            return code
        stmt = (
            insert(session, ReferralCode)
            .values(
                group_id=group_id,
                user_id=user_id,
                code=new_code(),
                created_at=now or datetime.now(UTC),
            )
            .on_conflict_do_nothing()  # the member already has one, or the code is taken
        )
        await session.execute(stmt)
        code = await _stored(session, group_id, user_id)
    if code is None:
        raise RuntimeError("could not allocate a referral code")
    return code


async def referrer_for_code(session: AsyncSession, group_id: str, code: str) -> str | None:
    """The member whose referral code ``code`` is, in this group; None when unknown."""
    code = (code or "").strip().lower()
    if not code or len(code) > MAX_LEN:
        return None
    return await session.scalar(
        select(ReferralCode.user_id).where(
            ReferralCode.group_id == group_id, ReferralCode.code == code
        )
    )
