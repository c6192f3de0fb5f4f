"""Warnings given and taken back by a staff member from the console (the member profile),
through the same rows, messages and limits as ``/警告`` and ``/撤销警告``.

Rules:
- Group staff (owner, admins, global admins), the ``[rules] exempt`` list and the bot are
  never warned; the refusal is the outcome, nothing is written.
- A warning is told to the group and counts toward ``warn_limit`` like any other (at the
  limit the member is removed where the platform can). It is keyed by the event, so the one
  event that carries a console action warns once however often it runs.
- The actor in the moderation log and the audit log is the staff member (``staff:<name>``).
- Each function returns the outcome in Chinese (for the audit detail and the page).
"""

from __future__ import annotations

from bot import Context, Role, role_of
from handlers.rules.actions import record, warn_member
from handlers.rules.config import RulesConfig
from handlers.rules.repo import Moderation

REFUSED = "不能警告群主、管理员或工作人员"


async def warn_by_staff(ctx: Context, target: str, reason: str, actor: str) -> str:
    """Warn ``target`` in ``ctx.group_id`` on behalf of ``actor``; the outcome."""
    assert ctx.group_id is not None
    cfg = ctx.feature(RulesConfig)
    if ctx.is_self(target) or target in cfg.exempt or await role_of(ctx, target) >= Role.ADMIN:
        await ctx.audit("rules.warn_refused", target, by=actor, reason=REFUSED)
        return REFUSED
    reason = reason.strip()[:200] or "管理员警告"
    name = await ctx.member_name(target)
    out = await warn_member(ctx, cfg, target, name, "manual", reason, "", actor[:128])
    await ctx.audit("rules.warn", target, by=actor, reason=reason, done=out.done)
    return "、".join(out.done) or "已警告过"


async def revoke_by_staff(ctx: Context, target: str, actor: str) -> str:
    """Take back ``target``'s latest warning in force on behalf of ``actor``; the outcome."""
    assert ctx.group_id is not None
    moderation = ctx.repo(Moderation)
    last = await moderation.last_warning(ctx.group_id, target, ctx.now())
    if last is None:
        await ctx.audit("rules.revoke_refused", target, by=actor, reason="没有可撤销的警告")
        return "没有可撤销的警告"
    await moderation.revoke(last.id, actor[:128], ctx.now())
    await record(ctx, target, "manual", "revoke", reason=last.reason, actor=actor[:128])
    left = await moderation.warning_count(ctx.group_id, target, ctx.now())
    await ctx.audit("rules.revoke", target, by=actor, reason=last.reason, left=left)
    return f"已撤销一次警告（{last.reason}），现有 {left} 次"
