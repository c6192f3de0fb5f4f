"""``change_external_chat`` → a member sync, or the leave itself when it can be trusted.

Rules (PLATFORMS.md §3):
- ``update`` with ``add_member``/``del_member`` (or a ``create``) asks for a ``groupchat/get``
  after ``[wecom.sync] delay_s`` (WeCom fills some fields asynchronously). The request is keyed
  by the event, so a redelivered callback asks once.
- A ``del_member`` whose ``LastMemVer`` equals our stored member version and that names its
  members (``MemChangeList``) is applied at once: each named member leaves at the event's time,
  and the version moves to ``CurMemVer``. A version that differs means callbacks were lost or
  came out of order: the group is re-read in full instead.
- Another update (name, notice, owner) whose ``CurMemVer`` differs from ours also re-reads the
  group; ``dismiss`` marks every member as gone.
- Joins through a personal join code mark that code as used (its cleanup clock restarts).
"""

from __future__ import annotations

from datetime import timedelta

from bot import (
    Context,
    GroupChanged,
    MemberJoined,
    MemberLeft,
    Members,
    Router,
    ensure_group,
    set_group_active,
)
from handlers.wecom_sync.repo import Sync

router = Router("wecom_sync")
MEMBER_CHANGES = ("add_member", "del_member")


def synced(ctx: Context, group_id: str) -> bool:
    """True when this group's members are synced from WeCom."""
    cfg = ctx.config.wecom.sync
    if not cfg.enabled:
        return False
    g = ctx.config.group(group_id)
    return g.platform == "wecom" if g else not cfg.only_configured


def leave_key(group_id: str, user_id: str, join_count: int) -> str:
    """One leave per stay: the same departure found twice (event and diff) counts once."""
    return f"wecom:leave:{group_id}:{user_id}:{join_count}"


@router.on(GroupChanged)
async def on_group_changed(ctx: Context) -> None:
    ev = ctx.event
    assert isinstance(ev, GroupChanged)
    gid = ev.group_id
    if not gid or not synced(ctx, gid):
        return
    await ensure_group(ctx)
    sync = ctx.repo(Sync)
    stored = await sync.member_version(gid)
    if ev.change_type == "dismiss":
        await _everyone_leaves(ctx, gid, ev)
        await set_group_active(ctx, gid, False)
        return
    incremental = (
        ev.update_detail == "del_member"
        and ev.member_ids
        and ev.last_mem_ver
        and stored
        and ev.last_mem_ver == stored
    )
    if incremental:
        for uid in ev.member_ids:
            row = await ctx.repo(Members).get(gid, uid)
            if row is None or not row.in_group:
                continue
            await ctx.emit(_left(gid, uid, row.join_count, ev))
        if ev.cur_mem_ver:
            await sync.set_member_version(gid, ev.cur_mem_ver)
        return
    member_change = ev.change_type == "create" or ev.update_detail in MEMBER_CHANGES
    version_moved = bool(ev.cur_mem_ver) and ev.cur_mem_ver != stored
    if not (member_change or version_moved):
        return
    delay = timedelta(seconds=ctx.config.wecom.sync.delay_s)
    await sync.request_sync(
        f"evt:{ev.dedup_key}",
        group_id=gid,
        reason=ev.update_detail or ev.change_type or "update",
        member_ids=list(ev.member_ids),
        quit_scene=ev.quit_scene,
        event_at=ev.occurred_at,
        due_at=ctx.now() + delay,
    )


def _left(gid: str, uid: str, join_count: int, ev: GroupChanged) -> MemberLeft:
    return MemberLeft(
        dedup_key=leave_key(gid, uid, join_count),
        platform="wecom",
        group_id=gid,
        occurred_at=ev.occurred_at,
        user_id=uid,
        kicked=ev.quit_scene == "1",
    )


async def _everyone_leaves(ctx: Context, gid: str, ev: GroupChanged) -> None:
    for m in await ctx.repo(Members).present(gid):
        await ctx.emit(_left(gid, m.user_id, m.join_count, ev))


@router.on(MemberJoined)
async def on_join_code_used(ctx: Context) -> None:
    """A join through a personal join code: the code is in use (not cleaned up yet)."""
    ev = ctx.event
    assert isinstance(ev, MemberJoined)
    if not ev.state or not ctx.group_id:
        return
    await ctx.repo(Sync).join_code_used(ctx.group_id, ev.state, ctx.now())
