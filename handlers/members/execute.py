"""Carrying out a confirmed run, member by member, exactly once; and recording the joins
that follow an invitation.

Rules:
- A run is carried out by ``Scheduled`` events in its group (``members.act``, data ``run``):
  the confirmation submits one at once, and the ``members-actions`` job (every ``EVERY_S``
  seconds) hands out one for every run still ``running`` — so a crash between the
  confirmation and the first event loses nothing.
- Each member is claimed (``pending`` → its outcome) with a conditional UPDATE in the same
  transaction as the outbox row of its effect: once per (run, member) however often the
  events run. Staff and the allow-list are checked again at that moment: whoever became
  staff, was allow-listed or left since the dry run is ``skipped`` with the reason.
- Clean-up: the bot removes the member (OneBot ``set_group_kick`` through the outbox) where
  the platform allows; elsewhere the member is ``listed`` and the owner and admins get the
  list to act by hand. Promote: a private invitation with the target group's link (OneBot);
  elsewhere ``listed`` for the owner. One audit row per member.
- A member of an ``invited`` or ``listed`` promotion who joins the target group makes it
  ``joined`` (with the time): the promotion is done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from bot import Context, MemberJoined, Router, Scheduled, submit, templates
from handlers.members.config import MembersConfig
from handlers.members.runrepo import Run, Runs
from storage.models_members import MemberAction

if TYPE_CHECKING:
    from bot import Bot

JOB = "members.act"
EVERY_S = 30
CHUNK = 100
V = ("group", "bot")
T_INVITE = templates.register(
    "members.promote_invite",
    "🎁 {name}，感谢你在「{group}」的积极参与！诚邀你加入我们的「{target}」：{link}",
    *V,
    "name",
    "target",
    "link",
)
T_CLEANUP_LIST = templates.register(
    "members.cleanup_list",
    "🧹 [{group}] 清理名单（#{run}）：本平台不支持机器人移出成员，请群主手动移出以下 {count} 人：\n"
    "{names}",
    *V,
    "run",
    "count",
    "names",
)
T_CLEANUP_DONE = templates.register(
    "members.cleanup_done",
    "🧹 [{group}] 已移出 {count} 名长期未活跃的成员（#{run}）：{names}",
    *V,
    "run",
    "count",
    "names",
)
T_PROMOTE_LIST = templates.register(
    "members.promote_list",
    "🎁 [{group}] 晋升名单（#{run}）：本平台不支持机器人私聊成员，请群主邀请以下 {count} 人加入"
    "「{target}」（{link}）：\n{names}",
    *V,
    "run",
    "count",
    "names",
    "target",
    "link",
)

router = Router("members-actions")


async def queue_runs(bot: Bot) -> None:
    """The periodic job: one ``members.act`` event that hands out the unfinished runs."""
    async with bot.db.read() as s:
        running = await s.scalar(select(MemberAction.id).where(MemberAction.status == "running"))
    if running is not None:
        await submit(bot, JOB)


async def start(bot: Bot, run_id: int, gid: str) -> None:
    """Carry a just-confirmed run out at once."""
    await bot.inbox.submit(_event(f"mact:{run_id}:start", gid, run_id, bot.clock.now()))


def _event(key: str, gid: str | None, run_id: int, now: object) -> Scheduled:
    return Scheduled(
        dedup_key=key[:200],
        platform="internal",
        group_id=gid,
        occurred_at=now,  # type: ignore[arg-type]
        job=JOB,
        data={"run": run_id},
    )


def _target_name(ctx: Context, gid: str) -> str:
    g = ctx.config.group(gid)
    return g.name if g and g.name else gid


@router.job(JOB)
async def carry_out(ctx: Context, ev: Scheduled) -> None:
    runs = ctx.repo(Runs)
    if ev.group_id is None:  # the periodic job: one event per unfinished run, in its group
        for rid, gid in await runs.running():
            await ctx.emit(_event(f"{ev.dedup_key}:{rid}", gid, rid, ctx.now()))
        return
    run = await runs.get(int(ev.data.get("run", 0) or 0))
    if run is None or run.group_id != ev.group_id:
        return
    await _members(ctx, run)


async def _decide(ctx: Context, run: Run, uid: str, guard: set[str]) -> tuple[str, str]:
    """(state, reason) for one member of the run, as of now."""
    runs = ctx.repo(Runs)
    if uid in guard:
        return "skipped", "staff or allow-list"
    if not await runs.in_group(run.group_id, uid):
        return "skipped", "left the group"
    plat = await runs.platform(ctx.config, run.group_id)
    if run.kind == "cleanup":
        return ("kicked", "") if plat in ("onebot", "console") else ("listed", "platform")
    return ("invited", "") if plat in ("onebot", "console") else ("listed", "platform")


async def _members(ctx: Context, run: Run) -> None:
    gid = run.group_id
    runs = ctx.repo(Runs)
    pending = await runs.pending(run.id, CHUNK)
    guard = await runs.guarded(ctx.config, gid)
    done: dict[str, list[str]] = {}
    for uid in pending:
        state, reason = await _decide(ctx, run, uid, guard)
        if not await runs.claim(run.id, uid, state, reason, ctx.now()):
            continue
        name = await ctx.member_name(uid)
        if state == "kicked":
            await ctx.act("kick", user_id=uid)
        elif state == "invited":
            cfg = ctx.config.feature(MembersConfig, gid).promote
            text = ctx.render(
                T_INVITE, name=name, target=_target_name(ctx, run.target_group), link=cfg.link
            )
            plat = await runs.platform(ctx.config, gid)
            await ctx.send_private(uid, text, idem_key=f"mpro:{run.id}:{uid}", platform=plat)
        runs.audit(
            gid=gid,
            actor=run.actor or "api",
            action=f"members.{run.kind}",
            target=uid,
            now=ctx.now(),
            event_id=ctx.event_id,
            run=run.id,
            state=state,
            reason=reason,
        )
        done.setdefault(state, []).append(name)
    await _tell(ctx, run, done)
    if len(pending) < CHUNK:
        await runs.finish(run.id)
    else:
        await ctx.emit(_event(f"mact:{run.id}:after:{pending[-1]}", gid, run.id, ctx.now()))


async def _tell(ctx: Context, run: Run, done: dict[str, list[str]]) -> None:
    """The owner and admins hear what was done, and get the list of what they must do."""
    cfg = ctx.config.feature(MembersConfig, run.group_id).promote
    if done.get("kicked"):
        names = "、".join(done["kicked"])
        text = ctx.render(T_CLEANUP_DONE, run=run.id, count=len(done["kicked"]), names=names)
        await ctx.notify_admins(text)
    if done.get("listed"):
        names = "\n".join(done["listed"])
        n = len(done["listed"])
        if run.kind == "cleanup":
            text = ctx.render(T_CLEANUP_LIST, run=run.id, count=n, names=names)
        else:
            target = _target_name(ctx, run.target_group)
            text = ctx.render(
                T_PROMOTE_LIST, run=run.id, count=n, names=names, target=target, link=cfg.link
            )
        await ctx.notify_admins(text)


@router.on(MemberJoined)
async def record_join(ctx: Context) -> None:
    """An invited member joined the target group: the promotion is done."""
    ev = ctx.event
    assert isinstance(ev, MemberJoined)
    if not ev.group_id or not ev.user_id:
        return
    runs = ctx.repo(Runs)
    for run_id, gid in await runs.joined(ev.group_id, ev.user_id, ctx.now()):
        runs.audit(
            gid=gid,
            actor=ev.user_id,
            action="members.promote_joined",
            target=ev.user_id,
            now=ctx.now(),
            event_id=ctx.event_id,
            run=run_id,
            target_group=ev.group_id,
        )
