"""Which group a newcomer is sent to, and the alerts when none can take them.

Rules:
- A campaign's groups are tried in order (``repo.group_ids``); the first whose live member
  count is below its capacity (the campaign's ``capacity``, else the group's ``[welcome]
  capacity``) and that has a usable QR (uploaded image or link, not expired) is shown. A full
  group is never shown, whatever QR it has.
- None usable: ``full`` when every group is at capacity, else ``no_qr`` (groups have room but
  no QR that still works). Either way admins are alerted through an inbox event keyed by
  campaign, reason and the ``alert_minutes`` window it falls in — once per window whatever
  the number of visits or instances; the process also remembers the window it already
  submitted, so a stream of visits does not hit the inbox each time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot import Config, Scheduled, StateKey
from handlers.entry import repo
from handlers.entry.config import Campaign
from handlers.welcome import WelcomeConfig
from storage.models_entry import EntryQr

if TYPE_CHECKING:
    from bot import Bot

ALERT_JOB = "entry.alert"
# (campaign, reason) → the alert window already submitted by this process
ALERTED: StateKey[dict[tuple[str, str], int]] = StateKey("entry.alerted", dict)


@dataclass
class Choice:
    group_id: str | None  # None: nothing to show
    qr: EntryQr | None
    reason: str  # "" | "full" | "no_qr"
    counts: dict[str, int] = field(default_factory=dict)


def capacity(config: Config, c: Campaign, gid: str) -> int:
    return c.capacity or config.feature(WelcomeConfig, gid).capacity


def usable(qr: EntryQr | None, now: datetime) -> bool:
    return qr is not None and (qr.expires_at is None or qr.expires_at > now)


async def choose(session: AsyncSession, config: Config, c: Campaign, now: datetime) -> Choice:
    gids = await repo.group_ids(session, c)
    counts = await repo.member_counts(session, gids)
    qrs = await repo.qr_rows(session, c.id)
    room = [g for g in gids if counts[g] < capacity(config, c, g)]
    for gid in room:
        if usable(qrs.get(gid), now):
            return Choice(gid, qrs[gid], "", counts)
    return Choice(None, None, "no_qr" if room else "full", counts)


async def alert(bot: Bot, c: Campaign, reason: str, now: datetime) -> bool:
    """Submit the admins' alert for this window unless already done; True when submitted."""
    window = int(now.timestamp() // (c.alert_minutes * 60))
    seen = bot.services.state.need(ALERTED)
    if seen.get((c.id, reason)) == window:
        return False
    ev = Scheduled(
        dedup_key=f"entry:{reason}:{c.id}:{window}",
        platform="internal",
        group_id=None,
        occurred_at=now,
        job=ALERT_JOB,
        data={"campaign": c.id, "reason": reason},
    )
    stored = await bot.inbox.submit(ev)
    seen[(c.id, reason)] = window
    return stored.new
