"""Who is in which group, kept up to date from every event before any feature sees it.

Rules:
- A member row is never deleted: leaving flips ``in_group``; a later join counts as a rejoin
  (``first_join`` is False), which features such as invite counting rely on.
- Speaking in a group proves membership even when we missed the join.
- The platform's role (OneBot ``sender.role``) is remembered on the member row.
- The bot's own leave (OneBot ``kick_me``: ``user_id`` is the bot) marks the group inactive;
  its own join marks it active again. Whatever posts into groups on its own (programme,
  greetings, announcements, broadcasts) asks ``group_active`` first: the inactive groups are
  read once per batch and kept right by ``set_group_active``.
- In a dispatcher batch the member rows of all its events are read with one query, and the
  group's member count, once read, is kept right by every join, leave and first message.
  Counts are read only when an event needs one (a join, a leave, a first message) — then for
  every group of the batch in one query.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, select, update

from bot.commands import Role
from bot.dispatch.batch import Batch
from bot.dispatch.context import Context
from bot.dispatch.router import discover, observe
from bot.events import Event, MemberJoined, MemberLeft, MessageReceived
from bot.names import NAME_CHECKS, NameCheck, display_name
from bot.state import StateKey
from storage.dialect import insert_ignore
from storage.direct import prepared
from storage.models import Group, Member

# groups already stored by this process (the dispatcher forgets them when a batch rolls back)
KNOWN_GROUPS: StateKey[set[str]] = StateKey("known_groups", set)
_ROLE_RANK = {"owner": Role.OWNER, "admin": Role.ADMIN}


async def ensure_group(ctx: Context) -> None:
    gid = ctx.group_id
    known = ctx.services.state.need(KNOWN_GROUPS)
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


async def preload_members(batch: Batch, events: list[Event]) -> None:
    """The member rows every tracked event of the batch will touch, in one query."""
    keys = [
        (ev.group_id, ev.user_id)
        for ev in events
        if ev.group_id
        and isinstance(ev, MessageReceived | MemberJoined | MemberLeft)
        and ev.user_id
    ]
    await batch.preload(Member, keys)
    if batch.deferred:  # their member counts, should an event need one (load_counts)
        pending: set[str] = batch.memo.setdefault(_PENDING_COUNTS, set())
        pending.update(g for g, _ in keys if _count_key(g) not in batch.memo)


async def load_counts(batch: Batch) -> None:
    """The member counts of the batch's groups not read yet, in one query; read before any
    event of the batch touches the group (tracking runs after), then kept right."""
    groups = sorted(batch.memo.pop(_PENDING_COUNTS, ()))
    if not groups:
        return
    counts = dict((await batch.read(_COUNTS, {"groups": groups})).all())
    for g in groups:
        batch.memo.setdefault(_count_key(g), int(counts.get(g, 0)))


async def track(ctx: Context) -> None:
    """Update group and member rows for the event; sets ``ctx.member`` and ``ctx.first_join``."""
    ev = ctx.event
    if ctx.group_id is None or not isinstance(ev, MessageReceived | MemberJoined | MemberLeft):
        return
    if not ev.user_id:
        return
    await ensure_group(ctx)
    now = ctx.now()
    row = await ctx.batch.get(Member, (ctx.group_id, ev.user_id))
    was_in = row is not None and row.in_group
    if (row is None or not was_in or not isinstance(ev, MessageReceived)) and ctx.batch.deferred:
        await load_counts(ctx.batch)  # membership may change: counts as they were before it
    if row is None:
        row = ctx.batch.new(
            Member,
            group_id=ctx.group_id,
            user_id=ev.user_id,
            name="",
            in_group=True,
            role="",
            first_seen_at=now,
            join_count=0,
            messages=0,
        )
        ctx.first_join = isinstance(ev, MemberJoined)
    if isinstance(ev, MessageReceived):
        row.in_group = True
        row.last_active_at = now
        row.messages = (row.messages or 0) + 1
        if ev.user_name:
            row.name = shown_name(ctx, ev.user_name, ev.user_id)
        if ev.sender_role:
            row.role = ev.sender_role if ev.sender_role in _ROLE_RANK else ""
    elif isinstance(ev, MemberJoined):
        row.in_group = True
        row.joined_at = min(now, ev.occurred_at)  # a join found later by a sync keeps its time
        row.left_at = None
        row.join_count = (row.join_count or 0) + 1
        if ev.user_name:
            row.name = shown_name(ctx, ev.user_name, ev.user_id)
    else:
        row.in_group = False
        row.left_at = min(now, ev.occurred_at)
    if not isinstance(ev, MessageReceived) and ev.self_id and ev.user_id == ev.self_id:
        # the bot itself was removed (OneBot kick_me) or added back: the group follows
        await set_group_active(ctx, ctx.group_id, isinstance(ev, MemberJoined))
    if row.in_group != was_in:
        ctx.batch.memo_add(_count_key(ctx.group_id), 1 if row.in_group else -1)
    ctx.member = row


_INACTIVE = ("groups", "inactive")


async def group_active(ctx: Context, group_id: str | None = None) -> bool:
    """False when the bot left or was removed from the group (``groups.active``); a group
    never seen is active. (The inactive groups — few — are read once per batch.)"""
    gid = group_id or ctx.group_id

    async def load() -> set[str]:
        found = await ctx.batch.read(select(Group.__table__.c.id).where(~Group.active))
        return set(found.scalars().all())

    inactive: set[str] = await ctx.batch.cached(_INACTIVE, load)
    return gid not in inactive


async def set_group_active(ctx: Context, group_id: str, active: bool) -> None:
    """Mark the group (in)active — the bot was added back, removed, or the group dismissed."""
    await ctx.session.execute(update(Group).where(Group.id == group_id).values(active=active))
    inactive: set[str] | None = ctx.batch.memo.get(_INACTIVE)
    if inactive is not None:
        if active:
            inactive.discard(group_id)
        else:
            inactive.add(group_id)


def shown_name(ctx: Context, raw: str, user_id: str) -> str:
    """The name stored and repeated for a member: one line, capped, masked when it looks like
    an ad (bot/names.py)."""
    checks: list[NameCheck] = ctx.services.state.need(NAME_CHECKS)
    return display_name(raw, user_id, checks) or user_id


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


async def admit(ctx: Context) -> bool:
    """Track the event; False when the features must not see it. Events of a group not in
    ``[[groups]]`` follow ``[bot] unknown_groups``: ``ignore`` leaves them stored in the inbox
    and nothing more, ``observe`` tracks members and runs the recording routes only (no
    command, reply or effect), ``manage`` serves them like a configured group. In the first
    two a group-created notice also reaches the routes that look for groups to adopt."""
    mode = ctx.config.group_mode(ctx.group_id)
    if mode == "ignore":
        await discover(ctx)
        return False
    await track(ctx)
    if mode == "observe":
        await observe(ctx)
        await discover(ctx)
        return False
    return True


async def role_of(ctx: Context, user_id: str) -> Role:
    """Another member's role in this group (global admin, the platform's owner/admin as last
    seen on their messages, configured admin), so features never act on those who outrank or
    equal the one asking."""
    if not user_id:
        return Role.MEMBER
    if user_id == ctx.user_id:
        return ctx.role
    if user_id in ctx.config.bot.admins:
        return Role.GLOBAL_ADMIN
    rank = Role.MEMBER
    if ctx.group_id is not None:
        row = await ctx.batch.get(Member, (ctx.group_id, user_id))
        if row is not None and row.role in _ROLE_RANK:
            rank = _ROLE_RANK[row.role]
    if user_id in ctx.config.group_admins(ctx.group_id):
        rank = max(rank, Role.ADMIN)
    return rank


_PENDING_COUNTS = ("members_in_group", "pending")
_M = Member.__table__.c  # (table columns: a Core query, run without the ORM layer)
_COUNTS = prepared(
    select(_M.group_id, func.count())
    .where(_M.group_id.in_(bindparam("groups", expanding=True)), _M.in_group.is_(True))
    .group_by(_M.group_id)
)


def _count_key(group_id: str) -> tuple[str, str]:
    return ("members_in_group", group_id)


async def members_in_group(ctx: Context) -> int:
    """How many members are in the group now, as far as we know."""
    gid = ctx.group_id
    assert gid is not None

    async def load() -> int:
        q = select(func.count()).select_from(Member)
        q = q.where(Member.group_id == gid, Member.in_group.is_(True))
        return int(await ctx.session.scalar(q) or 0)

    return int(await ctx.batch.cached(_count_key(gid), load))
