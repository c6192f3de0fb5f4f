"""What a staff member does to a member from the profile page (成员档案): warn, take the
latest warning back, grant make-up cards, adjust valid invites, put on or take off a tag.

Rules:
- The page changes nothing itself. It checks the input (``checked``) and submits one
  ``Scheduled`` event (job ``members.profile``) in the member's group, keyed by the form's
  one-time value (``profile:{nonce}``): the inbox's unique key lets a double click or a
  resent form through once. The dispatcher then runs the owning feature's public function —
  ``handlers.rules.warn_by_staff``/``revoke_by_staff``, ``handlers.checkin.give_cards``,
  ``handlers.referral.adjust_invites``, this feature's ``Tags`` — in the event's
  transaction, with the same rows, messages and limits as the chat commands.
- Every outcome, a refusal at run time included (a member who became staff, a cap reached
  since the page was shown), is an audit row with the staff member as actor
  (``staff:<name>``), shown in the profile's history.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot import Context, Router, Scheduled, group_only
from handlers.checkin import give_cards
from handlers.members.config import MembersConfig
from handlers.members.repo import Tags
from handlers.members.tags import TooMany
from handlers.referral import ReferralConfig, adjust_invites, adjust_problem
from handlers.rules import revoke_by_staff, warn_by_staff

JOB = "members.profile"
ACTIONS = {
    "warn": "警告",
    "revoke": "撤销最近一次警告",
    "cards": "发放补签卡",
    "invites": "调整有效邀请",
    "tag": "加标签",
    "untag": "去标签",
}
NONCE = re.compile(r"[0-9a-f]{32}")
NUMBER = re.compile(r"[+-]?\d{1,4}")
router = Router("members-profile")


class BadAction(ValueError):
    """Refused input, with the reason in Chinese."""


def checked(
    form: Mapping[str, str], members: MembersConfig, referral: ReferralConfig
) -> dict[str, Any]:
    """The action's data from the form (for the member's group's settings), or BadAction."""
    do = form.get("do", "")
    if do not in ACTIONS:
        raise BadAction("未知操作")
    if not NONCE.fullmatch(form.get("nonce", "")):
        raise BadAction("表单已失效，请刷新页面后重试")
    data: dict[str, Any] = {"do": do, "reason": " ".join(form.get("reason", "").split())[:200]}
    raw = form.get("n", "").strip()
    if do in ("cards", "invites"):
        if not NUMBER.fullmatch(raw):
            raise BadAction("请填写整数")
        data["n"] = int(raw)
    if do == "cards" and not 1 <= data["n"] <= 100:
        raise BadAction("补签卡张数为 1–100")
    if do == "invites" and (problem := adjust_problem(referral, data["n"])):
        raise BadAction(problem)
    if do in ("tag", "untag"):
        tag = form.get("tag", "").strip()
        if not members.allows(tag):
            allowed = f"可用标签：{'、'.join(members.tags)}" if members.tags else "1–20 个字"
            raise BadAction(f"标签「{tag[:20]}」不可用（{allowed}）")
        data["tag"] = tag
    return data


async def _tag(ctx: Context, do: str, target: str, tag: str, actor: str) -> str:
    assert ctx.group_id is not None
    tags = ctx.repo(Tags)
    common: dict[str, Any] = {"gid": ctx.group_id, "uid": target, "tag": tag}
    common |= {"source": "manual", "actor": actor[:128], "now": ctx.now()}
    common["event_id"] = ctx.event_id
    if do == "untag":
        return "已去掉标签" if await tags.remove(**common) else "没有这个标签"
    cap = ctx.feature(MembersConfig).max_tags_per_member
    try:
        return "已加上标签" if await tags.add(**common, cap=cap) else "已有这个标签"
    except TooMany:
        why = f"标签已达上限 {cap} 个"
        await ctx.audit("members.tag_refused", target, by=actor, tag=tag, reason=why)
        return why


async def run_action(ctx: Context, data: Mapping[str, Any]) -> str:
    """Run one action on ``data["target"]`` in the event's group; the outcome in Chinese."""
    target, actor, do = str(data["target"]), str(data["actor"]), str(data["do"])
    if do == "warn":
        return await warn_by_staff(ctx, target, str(data.get("reason", "")), actor)
    if do == "revoke":
        return await revoke_by_staff(ctx, target, actor)
    if do == "cards":
        return f"补签卡现有 {await give_cards(ctx, target, int(data['n']), by=actor)} 张"
    if do == "invites":
        reason = str(data.get("reason", "")) or "控制台调整"
        try:
            await adjust_invites(ctx, target, int(data["n"]), reason, by=actor)
        except ValueError as exc:
            await ctx.audit("referral.adjust_refused", target, by=actor, reason=str(exc))
            return str(exc)
        return f"有效邀请调整 {int(data['n']):+d}"
    if do in ("tag", "untag"):
        return await _tag(ctx, do, target, str(data["tag"]), actor)
    return "未知操作"


@router.job(JOB, group_only)
async def on_profile_action(ctx: Context, ev: Scheduled) -> None:
    await run_action(ctx, ev.data)
