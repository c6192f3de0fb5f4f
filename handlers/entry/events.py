"""The entry feature's events: admins' alerts, QR expiry warnings, joins after a visit.

Rules:
- ``entry.alert`` (submitted by the page, keyed per campaign, reason and window): one
  message to the admins (``notify_admins``: the alert group, else the admins).
- The ``entry.qr_watch`` job (every ``WATCH_S`` seconds of monotonic time, leader only)
  submits one ``entry.qr_expiry`` event per QR that runs out within a day and was not
  warned about, keyed by the QR's upload time; the handler marks it warned in the same
  transaction, so each upload is warned about once (a new upload is warned about anew).
- A member joining a campaign group after the page showed it counts as a join for the
  campaign (``repo.count_join``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot import Context, MemberJoined, Router, Scheduled, templates
from handlers.entry.config import campaign, campaigns
from handlers.entry.logic import ALERT_JOB
from handlers.entry.repo import Entries
from storage.models_entry import EntryQr

if TYPE_CHECKING:
    from bot import Bot

router = Router("entry")
EXPIRY_JOB = "entry.qr_expiry"
WATCH_S = 300.0
WARN_BEFORE = timedelta(days=1)
T_FULL_ALERT = templates.register(
    "entry.full_alert",
    "⚠️ 活码「{title}」的群都已满员（{groups}），访客看到的是满员提示：请开新群并上传它的二维码。",
    "title",
    "groups",
)
T_NO_QR_ALERT = templates.register(
    "entry.no_qr_alert",
    "⚠️ 活码「{title}」里有空位的群没有可用的二维码（{groups}），"
    "访客看到的是满员提示：请上传新的群二维码。",
    "title",
    "groups",
)
T_EXPIRING = templates.register(
    "entry.qr_expiring",
    "⏰ 活码「{title}」中「{group}」的群二维码将于 {expires} 过期，请在控制台重新上传。",
    "title",
    "group",
    "expires",
)


@router.on(Scheduled)
async def on_scheduled(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, Scheduled)
    if ev.job == ALERT_JOB:
        await _alert(ctx, str(ev.data.get("campaign", "")), str(ev.data.get("reason", "")))
    elif ev.job == EXPIRY_JOB:
        await _expiring(ctx, ev.data)


async def _alert(ctx: Context, cid: str, reason: str) -> None:
    c = campaign(ctx.config, cid)
    if c is None:
        return
    entries = ctx.repo(Entries)
    gids = await entries.group_ids(c)
    names = await entries.names(ctx.config, gids)
    key = T_FULL_ALERT if reason == "full" else T_NO_QR_ALERT
    text = ctx.render(key, title=c.title, groups="、".join(names[g] for g in gids))
    await ctx.notify_admins(text, group_id=c.groups[0])


async def _expiring(ctx: Context, data: dict[str, object]) -> None:
    cid, gid = str(data.get("campaign", "")), str(data.get("group", ""))
    c = campaign(ctx.config, cid)
    entries = ctx.repo(Entries)
    row = await entries.qr(cid, gid)
    if row is None or row.warned_at is not None or row.expires_at is None:
        return
    if c is None:  # the campaign left the config: nobody to warn, stop asking
        await entries.mark_warned(cid, gid, ctx.now())
        return
    if row.uploaded_at.isoformat() != data.get("uploaded_at"):
        return  # replaced since: the new upload is warned about in its turn
    await entries.mark_warned(cid, gid, ctx.now())
    names = await entries.names(ctx.config, [gid])
    local = row.expires_at.astimezone(ctx.config.timezone(None))
    text = ctx.render(
        T_EXPIRING, title=c.title, group=names[gid], expires=local.strftime("%m-%d %H:%M")
    )
    await ctx.notify_admins(text, group_id=c.groups[0])


@router.on(MemberJoined)
async def on_join(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, MemberJoined)
    gid = ctx.group_id
    if gid is None or ctx.is_self(ev.user_id):
        return
    for c in campaigns(ctx.config):
        if gid in await ctx.repo(Entries).group_ids(c):
            day = ev.occurred_at.astimezone(ctx.config.timezone(None)).date()
            await ctx.repo(Entries).count_join(c, gid, day, ev.occurred_at)
            return


async def qr_watch(bot: Bot) -> None:
    """``entry.qr_watch``: an expiry event per QR due for its warning (module rules)."""
    if not campaigns(bot.config):
        return
    now = bot.clock.now()
    async with bot.db.read() as s:
        rows = (
            await s.execute(
                select(EntryQr.campaign_id, EntryQr.group_id, EntryQr.uploaded_at).where(
                    EntryQr.warned_at.is_(None), EntryQr.expires_at <= now + WARN_BEFORE
                )
            )
        ).all()
    for cid, gid, uploaded in rows:
        await bot.inbox.submit(
            Scheduled(
                dedup_key=f"entry:expiry:{cid}:{gid}:{uploaded.timestamp():.0f}"[:200],
                platform="internal",
                group_id=None,
                occurred_at=now,
                job=EXPIRY_JOB,
                data={"campaign": cid, "group": gid, "uploaded_at": uploaded.isoformat()},
            )
        )
