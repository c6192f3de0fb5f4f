"""Reads and writes of the entry tables.

Rules:
- A campaign's groups are its configured groups in order, then the groups WeCom opened for
  it (``entry_groups``) in the order they were found.
- Member counts are the bot's live counts (members with ``in_group``), read in one statement.
- A visit is one upsert of its (campaign, group, local day) row: ``visits + 1`` and
  ``last_at``; the table grows by a row per group and day, never per visit.
- A created group the configuration does not list is noted once (``entry_candidates``, by
  chat id); only the ``entry.adopt`` event settles it (``adopted`` or ``unrelated``).
- A join counts for the campaign when the page showed that group's QR within the campaign's
  ``join_window_minutes`` before the join (``last_at``): the page cannot know who scans, so
  this is attribution by time, and on a busy group other joins in the window count too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, Repository
from handlers.entry.config import Campaign
from storage.dialect import insert
from storage.models import Member
from storage.models_entry import EntryCandidate, EntryGroup, EntryJoinWay, EntryQr, EntryVisit

WECOM = "wecom"  # the visits row of a page that showed the campaign's WeCom code


async def wecom_qr(session: AsyncSession, cid: str) -> str:
    """The campaign's WeCom 加入群聊 QR code URL when ready, else ''."""
    q = select(EntryJoinWay.qr_code).where(
        EntryJoinWay.campaign_id == cid, EntryJoinWay.status == "ready"
    )
    return str(await session.scalar(q) or "")


async def opened_groups(session: AsyncSession, cid: str | None = None) -> list[EntryGroup]:
    """Groups WeCom opened for campaigns (one campaign's, or all), oldest first."""
    q = select(EntryGroup).order_by(EntryGroup.added_at, EntryGroup.group_id)
    if cid is not None:
        q = q.where(EntryGroup.campaign_id == cid)
    return list((await session.scalars(q)).all())


async def candidates(session: AsyncSession, limit: int = 50) -> list[EntryCandidate]:
    """The created groups looked at for adoption, newest first."""
    q = select(EntryCandidate).order_by(EntryCandidate.seen_at.desc(), EntryCandidate.chat_id)
    return list((await session.scalars(q.limit(limit))).all())


async def group_ids(session: AsyncSession, c: Campaign) -> list[str]:
    extra = [g.group_id for g in await opened_groups(session, c.id)]
    return list(c.groups) + [g for g in extra if g not in c.groups]


async def member_counts(session: AsyncSession, gids: Sequence[str]) -> dict[str, int]:
    q = (
        select(Member.group_id, func.count())
        .where(Member.group_id.in_(list(gids)), Member.in_group.is_(True))
        .group_by(Member.group_id)
    )
    counts = {gid: 0 for gid in gids}
    counts.update({gid: int(n) for gid, n in (await session.execute(q)).all()})
    return counts


async def qr_rows(session: AsyncSession, cid: str) -> dict[str, EntryQr]:
    rows = await session.scalars(select(EntryQr).where(EntryQr.campaign_id == cid))
    return {r.group_id: r for r in rows}


async def count_visit(session: AsyncSession, cid: str, gid: str, day: date, now: datetime) -> None:
    stmt = insert(session, EntryVisit).values(
        campaign_id=cid, group_id=gid, day=day, visits=1, joins=0, last_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["campaign_id", "group_id", "day"],
        set_={"visits": EntryVisit.visits + 1, "last_at": now},
    )
    await session.execute(stmt)


async def count_join(session: AsyncSession, c: Campaign, gid: str, day: date, at: datetime) -> bool:
    """Count a join in ``gid`` at ``at`` when the page showed the group shortly before
    (module rule); True when it counted."""
    since = at - timedelta(minutes=c.join_window_minutes)
    shown = await session.scalar(
        select(func.max(EntryVisit.last_at)).where(
            EntryVisit.campaign_id == c.id,
            EntryVisit.group_id == gid,
            EntryVisit.day >= day - timedelta(days=1),
        )
    )
    if shown is None or not since <= shown <= at + timedelta(minutes=1):
        return False
    stmt = insert(session, EntryVisit).values(
        campaign_id=c.id, group_id=gid, day=day, visits=0, joins=1, last_at=None
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["campaign_id", "group_id", "day"],
        set_={"joins": EntryVisit.joins + 1},
    )
    await session.execute(stmt)
    return True


async def totals(session: AsyncSession, cid: str, since: date) -> dict[str, tuple[int, int]]:
    """group → (visits, joins) from ``since`` on."""
    q = (
        select(EntryVisit.group_id, func.sum(EntryVisit.visits), func.sum(EntryVisit.joins))
        .where(EntryVisit.campaign_id == cid, EntryVisit.day >= since)
        .group_by(EntryVisit.group_id)
    )
    return {g: (int(v or 0), int(j or 0)) for g, v, j in (await session.execute(q)).all()}


async def group_names(session: AsyncSession, config: Config, gids: Sequence[str]) -> dict[str, str]:
    """Display names: the configured name, else the name WeCom gave an opened group, else
    the group's id."""
    opened = {g.group_id: g.name for g in await opened_groups(session)}
    out = {}
    for gid in gids:
        g = config.group(gid)
        out[gid] = (g.name if g and g.name else "") or opened.get(gid, "") or gid
    return out


class Entries(Repository):
    """What the entry feature's handlers read and write (``ctx.repo(Entries)``)."""

    async def group_ids(self, c: Campaign) -> list[str]:
        return await group_ids(self._db, c)

    async def names(self, config: Config, gids: Sequence[str]) -> dict[str, str]:
        return await group_names(self._db, config, gids)

    async def qr(self, cid: str, gid: str) -> EntryQr | None:
        rows = await self._scalars(
            select(EntryQr).where(EntryQr.campaign_id == cid, EntryQr.group_id == gid)
        )
        return rows[0] if rows else None

    async def mark_warned(self, cid: str, gid: str, at: datetime) -> None:
        await self._execute(
            update(EntryQr)
            .where(EntryQr.campaign_id == cid, EntryQr.group_id == gid)
            .values(warned_at=at)
        )

    async def count_join(self, c: Campaign, gid: str, day: date, at: datetime) -> bool:
        return await count_join(self._db, c, gid, day, at)

    async def note_candidate(self, chat_id: str, at: datetime) -> None:
        """A created group to look at (once per chat, however often WeCom tells us)."""
        row = {
            "chat_id": chat_id,
            "status": "pending",
            "campaign_id": "",
            "attempts": 0,
            "last_error": "",
            "seen_at": at,
            "updated_at": at,
        }
        await self._insert_ignore(EntryCandidate, row, ["chat_id"])

    async def settle_candidate(self, chat_id: str, status: str, cid: str, at: datetime) -> None:
        await self._execute(
            update(EntryCandidate)
            .where(EntryCandidate.chat_id == chat_id)
            .values(status=status, campaign_id=cid, updated_at=at)
        )

    async def add_opened(self, gid: str, cid: str, name: str, at: datetime) -> None:
        """The group WeCom opened for the campaign ``cid`` (one row per group)."""
        row = {"group_id": gid, "campaign_id": cid, "name": name[:256], "added_at": at}
        await self._insert_ignore(EntryGroup, row, ["group_id"])
