"""Invite counting and referral rewards (邀请有礼/裂变): attribution, qualification, tiers,
claims with a code pool, admin corrections, ``/我的`` (check-ins and invites together), and the
console's 兑换码导入 page (a CSV upload, checked as ``groupbot rewards import`` checks it).

Other features use the repository ``Referrals`` (``ctx.repo(Referrals)``: ``counts``,
``leaderboard``, ``code`` …), ``invite_counts``, ``invite_leaderboard`` and ``adjust_invites``/
``adjust_problem`` (an admin's correction and its check); the WeCom join links use
``referral_code`` (a member's code, the join-way ``state``) and ``referrer_for_code``.
"""

from __future__ import annotations

from aiohttp import web

from bot import Feature, Job, Page, templates
from handlers.referral import admin, claims, commands, mine, settle
from handlers.referral.admin import adjust_invites, adjust_problem
from handlers.referral.cli import register_cli
from handlers.referral.codes import referral_code, referrer_for_code
from handlers.referral.config import ReferralConfig
from handlers.referral.console import PATH, rewards_page, rewards_post
from handlers.referral.queries import invite_counts, invite_leaderboard
from handlers.referral.repo import Referrals

router = commands.router
for part in (settle, claims, admin, mine):
    router.routes += part.router.routes
    router.commands += part.router.commands


def _web(app: web.Application) -> None:
    """The POST target of the console's 兑换码导入 form."""
    app.router.add_post(PATH, rewards_post)


FEATURE = Feature(
    name="referral",
    router=router,
    config=ReferralConfig,
    templates=templates.owned_by(__name__),
    cli=register_cli,
    web=_web,
    pages=(Page(PATH, rewards_page, nav="兑换码"),),
    jobs=(Job(settle.SCHEDULER_ID, settle.queue_settle, settle.SETTLE_EVERY_S, at_start=True),),
)

__all__ = [
    "FEATURE",
    "ReferralConfig",
    "Referrals",
    "adjust_invites",
    "adjust_problem",
    "invite_counts",
    "invite_leaderboard",
    "referral_code",
    "referrer_for_code",
]
