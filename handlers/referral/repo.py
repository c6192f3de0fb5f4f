"""The referral tables as handlers see them: ``Referrals`` (invites, adjustments, codes,
reward claims). Reads return frozen values; the rules live in ``ledger`` and ``claims``.

Rules:
- One invite row per (group, invitee): ``add_invite`` is False when the row exists.
- Status moves are conditional where two writers may race (``qualify``: only from pending).
- Reward claims are unique per (group, member, tier); a code goes to one claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update

from bot import Config, Repository
from handlers.referral import codes, queries, rewards
from storage.dialect import insert_ignore, rowcount
from storage.models import AuditEntry
from storage.models_referral import Invite, InviteAdjustment, RewardClaim


@dataclass(frozen=True, slots=True)
class InviteInfo:
    id: int
    group_id: str
    inviter_id: str
    invitee_id: str
    source: str
    status: str
    joined_at: datetime
    qualified_at: datetime | None
    left_at: datetime | None


@dataclass(frozen=True, slots=True)
class Adjustment:
    id: int
    delta: int
    reason: str
    undone: bool
    created_at: datetime


_I = tuple(InviteInfo.__dataclass_fields__)
_A = tuple(Adjustment.__dataclass_fields__)


def _invite(row: Invite) -> InviteInfo:
    return InviteInfo(*(getattr(row, f) for f in _I))


def _adjustment(row: InviteAdjustment) -> Adjustment:
    return Adjustment(*(getattr(row, f) for f in _A))


class Referrals(Repository):
    # --- counts and codes ----------------------------------------------------------------
    async def counts(self, group_id: str, user_id: str) -> dict[str, int]:
        """``{"valid","pending","left","fake"}`` (see ``queries.invite_counts``)."""
        return await queries.invite_counts(self._db, group_id, user_id)

    async def leaderboard(self, group_id: str, limit: int) -> list[tuple[str, str, int]]:
        return await queries.invite_leaderboard(self._db, group_id, limit)

    async def code(self, group_id: str, user_id: str, now: datetime) -> str:
        """The member's referral code, made on first use."""
        return await codes.referral_code(self._db, group_id, user_id, now=now)

    async def referrer(self, group_id: str, code: str) -> str | None:
        return await codes.referrer_for_code(self._db, group_id, code)

    # --- invites -------------------------------------------------------------------------
    async def invite(self, group_id: str, invitee: str) -> InviteInfo | None:
        row = await self._scalar(
            select(Invite).where(Invite.group_id == group_id, Invite.invitee_id == invitee)
        )
        return None if row is None else _invite(row)

    async def invites_by(self, group_id: str, inviter: str) -> list[InviteInfo]:
        rows = await self._scalars(
            select(Invite)
            .where(Invite.group_id == group_id, Invite.inviter_id == inviter)
            .order_by(Invite.id)
        )
        return [_invite(r) for r in rows]

    async def due_pending(self, now: datetime, min_days: float) -> list[InviteInfo]:
        return [_invite(r) for r in await queries.due_pending(self._db, now, min_days)]

    async def qualify(self, invite_id: int, now: datetime) -> bool:
        return await queries.qualify(self._db, invite_id, now)

    async def set_status(
        self, invite_id: int, status: str, left_at: datetime | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status}
        if left_at is not None:
            values["left_at"] = left_at
        await self._execute(update(Invite).where(Invite.id == invite_id).values(**values))

    async def add_invite(self, group_id: str, invitee: str, values: dict[str, Any]) -> bool:
        """The invite row; False when the person has one in the group already."""
        table = Invite.__table__
        stmt = insert_ignore(self._db, table, ["group_id", "invitee_id"]).returning(table.c.id)
        row = dict(group_id=group_id, invitee_id=invitee, **values)
        return (await self._query(stmt, [row])).scalar() is not None

    async def reattribute(self, group_id: str, invitee: str, values: dict[str, Any]) -> bool:
        """A voided invite attributed again (an admin's /归属); False when none is void."""
        res = await self._execute(
            update(Invite)
            .where(
                Invite.group_id == group_id, Invite.invitee_id == invitee, Invite.status == "void"
            )
            .values(**values)
        )
        return bool(rowcount(res))

    async def last_credited_join(self, group_id: str, inviter: str) -> datetime | None:
        found: datetime | None = await self._scalar(
            select(func.max(Invite.joined_at)).where(
                Invite.group_id == group_id,
                Invite.inviter_id == inviter,
                Invite.credit_seq.is_not(None),
            )
        )
        return found

    async def credits_on(self, group_id: str, inviter: str, day: date) -> int:
        n = await self._scalar(
            select(func.coalesce(func.max(Invite.credit_seq), 0)).where(
                Invite.group_id == group_id, Invite.inviter_id == inviter, Invite.credit_day == day
            )
        )
        return int(n or 0)

    # --- adjustments ---------------------------------------------------------------------
    async def adjust(
        self, group_id: str, user_id: str, delta: int, reason: str, by: str, at: datetime
    ) -> None:
        self._add(
            InviteAdjustment(
                group_id=group_id,
                user_id=user_id,
                delta=delta,
                reason=reason,
                actor_id=by,
                undone=False,
                created_at=at,
            )
        )

    async def last_adjustment(self, group_id: str, user_id: str) -> Adjustment | None:
        row = await self._scalar(
            select(InviteAdjustment)
            .where(
                InviteAdjustment.group_id == group_id,
                InviteAdjustment.user_id == user_id,
                InviteAdjustment.undone.is_(False),
            )
            .order_by(InviteAdjustment.id.desc())
            .limit(1)
        )
        return None if row is None else _adjustment(row)

    async def undo_adjustment(self, adjustment_id: int) -> None:
        await self._execute(
            update(InviteAdjustment).where(InviteAdjustment.id == adjustment_id).values(undone=True)
        )

    async def adjustments(self, group_id: str, user_id: str) -> list[Adjustment]:
        rows = await self._scalars(
            select(InviteAdjustment)
            .where(InviteAdjustment.group_id == group_id, InviteAdjustment.user_id == user_id)
            .order_by(InviteAdjustment.id)
        )
        return [_adjustment(r) for r in rows]

    # --- rewards -------------------------------------------------------------------------
    async def new_claim(self, row: dict[str, Any]) -> int | None:
        """The claim's id, or None when the tier was claimed before."""
        table = RewardClaim.__table__
        stmt = insert_ignore(self._db, table, ["group_id", "user_id", "tier"]).returning(table.c.id)
        claim_id: int | None = (await self._query(stmt, [row])).scalar()
        return claim_id

    async def hand_out(
        self, config: Config, claim_id: int, tier: int, pool: str, now: datetime
    ) -> tuple[str | None, rewards.Handover | None]:
        """Give the claim a free code of its tier and send it (a Handover when an admin must
        pass it on); (None, None) when the pool has none left."""
        code = await rewards.take_code(self._db, claim_id, tier, pool)
        if code is None:
            return None, None
        claim = await self._scalar(select(RewardClaim).where(RewardClaim.id == claim_id))
        return code, await rewards.deliver(self._db, config, now, claim, code)

    async def add_codes(self, now: datetime, rows: list[tuple[int, str]], pool: str) -> int:
        return await rewards.add_codes(self._db, now, rows, pool)

    async def fulfil_pending(self, config: Config, now: datetime, pool: str) -> tuple[int, Any]:
        return await rewards.fulfil_pending(self._db, config, now, pool)

    async def platform_of(self, config: Config, group_id: str) -> str:
        """The group's platform (configured, else as stored when first seen)."""
        return await rewards.platform_of(self._db, config, group_id)

    # --- audit ---------------------------------------------------------------------------
    async def audit(self, group_id: str, action: str, target: str, **row: Any) -> None:
        """An audit row for ``group_id`` (jobs serve many groups)."""
        self._add(AuditEntry(group_id=group_id, action=action, target_id=target, **row))
