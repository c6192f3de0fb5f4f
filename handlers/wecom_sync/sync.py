"""Re-reading customer groups (``groupchat/get``) and turning the difference into events.

Rules:
- Due requests for one group are served by one ``groupchat/get`` (``need_name: 1``).
- Members WeCom lists that we do not have in the group become member-joined events at their
  ``join_time``, with ``join_scene``, the inviter from ``invitor.userid`` (only present when a
  staff member invited) and the join-way ``state`` (a member's referral code). Members we have
  that WeCom no longer lists become member-left events — at the triggering event's time when
  that event named them, else at the sync's time.
- Event keys name the member and the join (``join_time``) or the stay (``join_count``), so a
  sync that runs twice, on two instances or after a crash, emits nothing new.
- The first sync of a group (no member version stored yet) records its members silently
  (nobody is greeted or credited for having been there before the bot), except members the
  triggering ``add_member`` event named, who are real newcomers.
- Trouble: retryable errors (busy, frequency, network) back off and retry up to
  ``MAX_ATTEMPTS``; others (e.g. 90501 not a customer group) fail the request with the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from bot import NAME_CHECKS, Event, MemberJoined, MemberLeft, NameCheck, display_name, utc
from bot.wecom_api import WeComClient, WeComError
from handlers.wecom_sync.events import leave_key
from storage.dialect import insert_ignore
from storage.models import Group, Member
from storage.models_wecom import WeComSyncRequest

if TYPE_CHECKING:
    from bot import Bot

log = logging.getLogger("groupbot.wecom.sync")
MAX_ATTEMPTS = 8
BATCH = 200
MAX_PAGES = 1000  # of groupchat/list, 1,000 groups a page


def _str(value: Any) -> str:
    return "" if value is None else str(value).strip()


def join_event(group_id: str, m: dict[str, Any], now: datetime) -> MemberJoined:
    """The member-joined event for one ``member_list`` entry."""
    uid = _str(m.get("userid"))
    join_time = m.get("join_time")
    ts = join_time if isinstance(join_time, int) and 0 < join_time < 10**10 else None
    invitor = m["invitor"] if isinstance(m.get("invitor"), dict) else {}
    inviter = _str(invitor.get("userid"))
    return MemberJoined(
        dedup_key=f"wecom:join:{group_id}:{uid}:{ts or 0}",
        platform="wecom",
        group_id=group_id,
        occurred_at=utc(ts) if ts else now,
        user_id=uid,
        user_name=_str(m.get("group_nickname")) or _str(m.get("name")),
        inviter_id=inviter,
        inviter_source="wecom_invitor" if inviter else "",
        join_scene=_str(m.get("join_scene")),
        state=_str(m.get("state")),
    )


async def run_due(bot: Bot, client: WeComClient) -> int:
    """Serve every due sync request; returns how many groups were read."""
    now = bot.clock.now()
    async with bot.db.read() as s:
        q = (
            select(WeComSyncRequest)
            .where(WeComSyncRequest.status == "queued", WeComSyncRequest.due_at <= now)
            .order_by(WeComSyncRequest.id)
            .limit(BATCH)
        )
        reqs = list((await s.scalars(q)).all())
    by_group: dict[str, list[WeComSyncRequest]] = {}
    for r in reqs:
        by_group.setdefault(r.group_id, []).append(r)
    for gid, rs in by_group.items():
        await sync_group(bot, client, gid, rs)
    return len(by_group)


async def sync_group(
    bot: Bot, client: WeComClient, gid: str, reqs: list[WeComSyncRequest]
) -> list[Event]:
    """Read one group and emit what changed; returns the events submitted."""
    try:
        data = await client.call("externalcontact/groupchat/get", {"chat_id": gid, "need_name": 1})
    except WeComError as exc:
        await _failed(bot, reqs, exc)
        return []
    chat = data["group_chat"] if isinstance(data.get("group_chat"), dict) else {}
    listed = [m for m in chat.get("member_list") or [] if isinstance(m, dict) and m.get("userid")]
    now = bot.clock.now()
    async with bot.db.read() as s:
        group = await s.get(Group, gid)
        rows = await s.execute(
            select(Member.user_id, Member.join_count).where(
                Member.group_id == gid, Member.in_group.is_(True)
            )
        )
        ours = {uid: n for uid, n in rows}
    named = {uid: r for r in reqs for uid in r.member_ids}
    added = {uid for r in reqs if r.reason == "add_member" for uid in r.member_ids}
    baseline = group is None or not group.member_version  # never synced before
    events: list[Event] = []
    silent: list[dict[str, Any]] = []
    listed_ids = set()
    for m in listed:
        uid = _str(m.get("userid"))
        listed_ids.add(uid)
        if uid in ours:
            continue
        if baseline and uid not in added:
            silent.append(m)
        else:
            events.append(join_event(gid, m, now))
    for uid, join_count in ours.items():
        if uid in listed_ids:
            continue
        req = named.get(uid)
        events.append(
            MemberLeft(
                dedup_key=leave_key(gid, uid, join_count),
                platform="wecom",
                group_id=gid,
                occurred_at=req.event_at if req else now,
                user_id=uid,
                kicked=bool(req and req.quit_scene == "1"),
            )
        )
    for ev in events:
        await bot.inbox.submit(ev)
    async with bot.db.transaction() as s:
        await _record(s, gid, chat, silent, now, bot.services.state.need(NAME_CHECKS))
        await s.execute(
            update(WeComSyncRequest)
            .where(WeComSyncRequest.id.in_([r.id for r in reqs]))
            .values(status="done", done_at=now, last_error="")
        )
    if events:
        log.info("wecom sync %s: %d change(s)", gid, len(events))
    return events


async def _record(
    s: Any,
    gid: str,
    chat: dict[str, Any],
    silent: list[dict[str, Any]],
    now: datetime,
    checks: list[NameCheck],
) -> None:
    """The group row and its member version, and a first sync's members (no events)."""
    await s.execute(
        insert_ignore(s, Group, ["id"]).values(
            id=gid,
            platform="wecom",
            name=_str(chat.get("name")),
            member_version="",
            active=True,
            created_at=now,
        )
    )
    await s.execute(
        update(Group).where(Group.id == gid).values(member_version=_str(chat.get("member_version")))
    )
    for m in silent:
        ev = join_event(gid, m, now)
        await s.execute(
            insert_ignore(s, Member, ["group_id", "user_id"]).values(
                group_id=gid,
                user_id=ev.user_id,
                name=display_name(ev.user_name, ev.user_id, checks),  # as tracking stores it
                in_group=True,
                role="",
                first_seen_at=now,
                joined_at=ev.occurred_at,
                join_count=1,
                messages=0,
            )
        )


async def _failed(bot: Bot, reqs: list[WeComSyncRequest], exc: WeComError) -> None:
    now = bot.clock.now()
    async with bot.db.transaction() as s:
        for r in reqs:
            attempts = r.attempts + 1
            gave_up = not exc.retryable or attempts >= MAX_ATTEMPTS
            delay = timedelta(seconds=min(600, 5 * 2**attempts))
            await s.execute(
                update(WeComSyncRequest)
                .where(WeComSyncRequest.id == r.id)
                .values(
                    attempts=attempts,
                    last_error=str(exc)[:1000],
                    status="failed" if gave_up else "queued",
                    due_at=now + delay,
                )
            )
    log.warning("wecom sync %s: %s", reqs[0].group_id, exc)


async def request_reconcile(bot: Bot, client: WeComClient, slot: str) -> int:
    """Queue a full re-read of every synced group (``groupchat/list`` + configured groups);
    ``slot`` names the pass so instances and timers firing together queue it once."""
    cfg = bot.config.wecom.sync
    listed: list[str] = []
    cursor = ""
    for _ in range(MAX_PAGES):  # (a cursor that never ends must not hold the job forever)
        body: dict[str, Any] = {"status_filter": 0, "limit": 1000}
        if cursor:
            body["cursor"] = cursor
        try:
            data = await client.call("externalcontact/groupchat/list", body)
        except WeComError as exc:
            log.warning("wecom reconcile: groupchat/list failed: %s", exc)
            break
        listed += [
            _str(c.get("chat_id")) for c in data.get("group_chat_list") or [] if isinstance(c, dict)
        ]
        cursor = _str(data.get("next_cursor"))
        if not cursor:
            break
    configured = [g.id for g in bot.config.groups if g.platform == "wecom"]
    targets = set(configured) if cfg.only_configured else set(listed) | set(configured)
    now = bot.clock.now()
    async with bot.db.transaction() as s:
        for gid in sorted(t for t in targets if t):
            await s.execute(
                insert_ignore(s, WeComSyncRequest, ["key"]).values(
                    key=f"reconcile:{slot}:{gid}"[:200],
                    group_id=gid,
                    reason="reconcile",
                    member_ids=[],
                    quit_scene="",
                    event_at=now,
                    due_at=now,
                    status="queued",
                    attempts=0,
                    last_error="",
                )
            )
    return len(targets)
