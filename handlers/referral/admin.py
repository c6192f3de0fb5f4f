"""Admin corrections, all audited: /归属, /调整邀请, /撤销调整, /作废邀请, /邀请记录, and
/奖品 导入 in a private chat (codes never pass through a group).

Rules:
- /归属 @新成员 @邀请人 attributes a newcomer who has no ledger row (or whose row was voided);
  qualification counts from when they joined, and a rejoin is still ``fake``.
- /调整邀请 @x +2 原因 adds (or removes) valid invites, at most ``adjust_cap`` at a time and
  never one's own; /撤销调整 @x undoes the latest one that is not undone yet. A bonus that
  reaches a tier is announced like a qualification.
- /奖品 导入 (private chat) fills only a pool whose groups the sender all administers.
- /作废邀请 @新成员 voids the newcomer's invite whatever its status (it stops counting).
"""

from __future__ import annotations

from bot import (
    CommandOptions,
    Context,
    MemberInfo,
    Members,
    Role,
    Router,
    group_only,
    number,
    private_only,
    templates,
)
from handlers.referral import ledger, pools
from handlers.referral.config import ReferralConfig
from handlers.referral.repo import Referrals
from handlers.referral.settle import announce_tiers

router = Router("referral-admin")
T_OK = templates.register("referral.admin_ok", "✅ {what}", "what", "group", "bot")
T_BAD = templates.register("referral.admin_bad", "⚠️ {what}", "what", "group", "bot")
T_REFUSED = "core.refused"  # registered by the dispatcher
ADMIN: CommandOptions = {"role": Role.ADMIN, "filters": (group_only,)}
MAX_DELTA = 1000


async def _ok(ctx: Context, what: str) -> None:
    await ctx.reply(ctx.render(T_OK, what=what))


async def _bad(ctx: Context, what: str) -> None:
    await ctx.reply(ctx.render(T_BAD, what=what))


def _first_join(member: MemberInfo) -> bool:
    """Their first time here, as far as we know (a join we saw first, or no join seen)."""
    if member.join_count == 0:
        return True
    joined = member.joined_at
    return member.join_count == 1 and joined is not None and member.first_seen_at >= joined


@router.command("归属", help="指定新成员的邀请人", usage="@新成员 @邀请人", **ADMIN)
async def attribute(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    if len(ctx.command.mentions) < 2:
        await _bad(ctx, "用法：/归属 @新成员 @邀请人")
        return
    invitee, inviter = ctx.command.mentions[:2]
    member = await ctx.repo(Members).get(ctx.group_id, invitee)
    if member is None or not member.in_group:
        await _bad(ctx, "这位新成员不在群里")
        return
    status = await ledger.record_join(
        ctx, invitee, inviter, "admin", _first_join(member), member.joined_at
    )
    if status is None:
        await _bad(ctx, "无法归属：已有邀请记录（可先 /作废邀请），或是自己/机器人/不计入的邀请人")
        return
    await _ok(ctx, f"已把 {invitee} 归属给 {inviter}（{status}）")


@router.command("调整邀请", help="手动增减有效邀请", usage="@成员 +2 原因", **ADMIN)
async def adjust(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    words = ctx.command.words
    delta = number(words[0], -MAX_DELTA, MAX_DELTA) if words else None
    if not ctx.command.mentions or not delta:
        await _bad(ctx, "用法：/调整邀请 @成员 +2 原因")
        return
    target = ctx.command.mentions[0]
    if target == ctx.user_id:
        await _bad(ctx, "不能给自己调整邀请数，请让其他管理员处理")
        return
    try:
        before = await adjust_invites(ctx, target, delta, " ".join(words[1:]), announce=False)
    except ValueError as exc:
        await _bad(ctx, str(exc))
        return
    await _ok(ctx, f"已为 {target} 调整有效邀请 {delta:+d}")
    await announce_tiers(ctx, ctx.group_id, target, before)


def adjust_problem(cfg: ReferralConfig, delta: int) -> str:
    """Why ``delta`` cannot be an adjustment ("" when it can): not zero, at most the cap."""
    if not delta:
        return "调整数不能为 0"
    if abs(delta) > cfg.adjust_cap:
        cap = cfg.adjust_cap
        return f"单次调整最多 ±{cap} 个有效邀请（可在 [referral] adjust_cap 修改）"
    return ""


async def adjust_invites(
    ctx: Context,
    target: str,
    delta: int,
    reason: str,
    by: str | None = None,
    *,
    announce: bool = True,
) -> int:
    """Add (or remove) ``delta`` valid invites of ``target`` in this group, at most
    ``adjust_cap`` at a time (ValueError with the reason otherwise), audited (``by``: a staff
    member acting from the console, else the sender); a tier reached this way is announced
    (``announce``). ``/调整邀请`` and the console's member profile both adjust through here.
    Returns the valid invites before."""
    assert ctx.group_id is not None
    problem = adjust_problem(ctx.feature(ReferralConfig), delta)
    if problem:
        raise ValueError(problem)
    referrals = ctx.repo(Referrals)
    before = int((await referrals.counts(ctx.group_id, target))["valid"])
    actor = (ctx.user_id if by is None else by)[:128]
    await referrals.adjust(ctx.group_id, target, delta, reason[:200], actor, ctx.now())
    await ctx.audit("referral.adjust", target, by=by, delta=delta, reason=reason[:200])
    if announce:
        await announce_tiers(ctx, ctx.group_id, target, before)
    return before


@router.command("撤销调整", help="撤销最近一次邀请调整", usage="@成员", **ADMIN)
async def undo(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    if not ctx.command.mentions:
        await _bad(ctx, "用法：/撤销调整 @成员")
        return
    target = ctx.command.mentions[0]
    referrals = ctx.repo(Referrals)
    last = await referrals.last_adjustment(ctx.group_id, target)
    if last is None:
        await _bad(ctx, "没有可撤销的调整")
        return
    await referrals.undo_adjustment(last.id)
    await ctx.audit("referral.undo_adjust", target, delta=last.delta, adjustment=last.id)
    await _ok(ctx, f"已撤销 {target} 的调整 {last.delta:+d}")


@router.command("作废邀请", help="作废一条邀请", usage="@新成员", **ADMIN)
async def void(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    if not ctx.command.mentions:
        await _bad(ctx, "用法：/作废邀请 @新成员")
        return
    referrals = ctx.repo(Referrals)
    inv = await referrals.invite(ctx.group_id, ctx.command.mentions[0])
    if inv is None or inv.status == "void":
        await _bad(ctx, "没有这条邀请记录")
        return
    before = inv.status
    await referrals.set_status(inv.id, "void")
    await ctx.audit("referral.void", inv.invitee_id, inviter=inv.inviter_id, was=before)
    await _ok(ctx, f"已作废 {inv.inviter_id} 邀请 {inv.invitee_id} 的记录（原为 {before}）")


@router.command("邀请记录", help="查看某人的邀请明细", usage="@成员", **ADMIN)
async def history(ctx: Context) -> None:
    assert ctx.command is not None and ctx.group_id is not None
    target = ctx.command.mentions[0] if ctx.command.mentions else ctx.user_id
    referrals = ctx.repo(Referrals)
    rows = await referrals.invites_by(ctx.group_id, target)
    adjs = await referrals.adjustments(ctx.group_id, target)
    lines = [
        f"{r.invitee_id} {r.status} {r.joined_at.astimezone(ctx.tz):%m-%d} {r.source}" for r in rows
    ]
    lines += [
        f"调整 {a.delta:+d} {a.reason} {a.created_at.astimezone(ctx.tz):%m-%d}"
        + ("（已撤销）" if a.undone else "")
        for a in adjs
    ]
    counts = await referrals.counts(ctx.group_id, target)
    head = f"{target} 的邀请记录（有效 {counts['valid']}）："
    await ctx.reply(head + "\n" + ("\n".join(lines) or "（无）"))


def _import_pool(ctx: Context, words: tuple[str, ...] | list[str]) -> tuple[str | None, str]:
    """The pool a chat import goes to, or (None, why not). A pool is filled only by someone
    who administers every configured group drawing from it (global admins administer all),
    so one group's admin never fulfils another group's claims."""
    mine = pools.administered(ctx.config, ctx.user_id)
    named = [w.removeprefix("群=") for w in words if w.startswith("群=")]
    if named and named[0] not in mine:
        return None, f"你不是群 {named[0]} 的管理员，不能为它导入兑换码"
    by_pool = pools.pools_for(ctx.config, named[:1] or mine)
    if len(by_pool) > 1:
        return None, "你管理的群使用不同的奖池，请加上 群=群ID 指定：" + "、".join(mine)
    pool, _ = next(iter(by_pool.items()))
    every = pools.pools_for(ctx.config, [g.id for g in ctx.config.groups]).get(pool, [])
    others = [g for g in every if g not in mine]
    if others:
        return None, (
            f"这个奖池也供其他群使用（{'、'.join(others)}），只能由全局管理员导入；"
            '可请运营为本群设置单独奖池（[referral] pool_by = "group"）'
        )
    return pool, ""


@router.command(
    "奖品",
    help="私聊导入兑换码：/奖品 导入 档位 码1 码2 …（可加 群=群ID；管理员）",
    private_ok=True,
    filters=(private_only,),
)
async def import_codes(ctx: Context) -> None:
    """Codes into a pool from an admin's private chat; that pool's waiting claims are
    fulfilled (see ``_import_pool`` for who may fill which pool)."""
    assert ctx.command is not None
    if not pools.administered(ctx.config, ctx.user_id):
        await ctx.reply(ctx.render(T_REFUSED, command="/奖品", role=Role.ADMIN.label))
        return
    words = [w for w in ctx.command.words if not w.startswith("群=")]
    tier = number(words[1], 1) if len(words) >= 3 else None
    if len(words) < 3 or words[0] != "导入" or tier is None:
        await _bad(ctx, "用法（私聊）：/奖品 导入 档位 码1 码2 …（档位为正整数，可加 群=群ID）")
        return
    pool, why = _import_pool(ctx, ctx.command.words)
    if pool is None:
        await _bad(ctx, why)
        return
    rows = [(tier, c) for c in words[2:]]
    referrals = ctx.repo(Referrals)
    added = await referrals.add_codes(ctx.now(), rows, pool)
    done, _ = await referrals.fulfil_pending(ctx.config, ctx.now(), pool)
    await ctx.audit("referral.codes_import", "", tier=tier, added=added, fulfilled=done, pool=pool)
    await _ok(ctx, f"已导入 {added} 个兑换码，补发 {done} 个待领奖励")
