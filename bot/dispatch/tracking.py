"""Who is in which group, kept up to date from every event before any feature sees it.

Rules:
- A member row is never deleted: leaving flips ``in_group``; a later join counts as a rejoin
  (``first_join`` is False), which features such as invite counting rely on.
- Speaking in a group proves membership even when we missed the join.
- The platform's role (OneBot ``sender.role``) is remembered on the member row.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.commands import Role
from bot.dispatch.context import Context
from bot.events import MemberJoined, MemberLeft, MessageReceived
from storage.dialect import insert_ignore
from storage.models import Group, Member

_ROLE_RANK = {"owner": Role.OWNER, "admin": Role.ADMIN}


async def ensure_group(ctx: Context) -> None:
    gid = ctx.group_id
    known: set[str] = ctx.services.extras.setdefault("known_groups", set())
    if gid is None or gid in known:
        return
    g = ctx.group
    stmt = insert_ignore(ctx.session, Group, ["id"]).values(
        id=gid,
        platform=g.platform if g else ctx.event.platform,
        name=g.name if g else "",
        member_version="",
        active=True,
        created_at=ctx.now(),
    )
    await ctx.session.execute(stmt)
    known.add(gid)


async def track(ctx: Context) -> None:
    """Update group and member rows for the event; sets ``ctx.member`` and ``ctx.first_join``."""
    ev = ctx.event
    if ctx.group_id is None or not isinstance(ev, MessageReceived | MemberJoined | MemberLeft):
        return
    if not ev.user_id:
        return
    await ensure_group(ctx)
    now = ctx.now()
    row = await ctx.session.get(Member, (ctx.group_id, ev.user_id))
    if row is None:
        row = Member(
            group_id=ctx.group_id,
            user_id=ev.user_id,
            name="",
            in_group=True,
            role="",
            first_seen_at=now,
            join_count=0,
            messages=0,
        )
        ctx.session.add(row)
        ctx.first_join = isinstance(ev, MemberJoined)
    if isinstance(ev, MessageReceived):
        row.in_group = True
        row.last_active_at = now
        row.messages = (row.messages or 0) + 1
        if ev.user_name:
            row.name = ev.user_name
        if ev.sender_role:
            row.role = ev.sender_role if ev.sender_role in _ROLE_RANK else ""
    elif isinstance(ev, MemberJoined):
        row.in_group = True
        row.joined_at = min(now, ev.occurred_at)  # a join found later by a sync keeps its time
        row.left_at = None
        row.join_count = (row.join_count or 0) + 1
        if ev.user_name:
            row.name = ev.user_name
    else:
        row.in_group = False
        row.left_at = min(now, ev.occurred_at)
    ctx.member = row


async def resolve_role(ctx: Context) -> Role:
    """The speaker's role: global admins > the platform's owner/admin > configured admins."""
    uid = ctx.user_id
    if not uid:
        return Role.MEMBER
    if uid in ctx.config.bot.admins:
        return Role.GLOBAL_ADMIN
    rank = Role.MEMBER
    msg = ctx.message
    if msg is not None and msg.sender_role in _ROLE_RANK:
        rank = _ROLE_RANK[msg.sender_role]
    elif ctx.member is not None and ctx.member.role in _ROLE_RANK:
        rank = _ROLE_RANK[ctx.member.role]
    if uid in ctx.config.group_admins(ctx.group_id):
        rank = max(rank, Role.ADMIN)
    return rank


async def members_in_group(ctx: Context) -> int:
    """How many members are in the group now, as far as we know."""
    from sqlalchemy import func

    return int(
        await ctx.session.scalar(
            select(func.count())
            .select_from(Member)
            .where(Member.group_id == ctx.group_id, Member.in_group.is_(True))
        )
        or 0
    )
