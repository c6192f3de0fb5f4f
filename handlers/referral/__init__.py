"""Invite counting and referral rewards (邀请有礼/裂变): attribution, qualification, tiers,
claims with a code pool, admin corrections.

Other features use ``invite_counts`` and ``invite_leaderboard``; the WeCom join links use
``referral_code`` (a member's code, the join-way ``state``) and ``referrer_for_code``.
"""

from __future__ import annotations

from handlers.referral import admin, claims, commands, settle
from handlers.referral.cli import register_cli
from handlers.referral.codes import referral_code, referrer_for_code
from handlers.referral.ledger import invite_counts, invite_leaderboard
from handlers.referral.settle import on_startup

router = commands.router
for part in (settle, claims, admin):
    router.routes += part.router.routes
    router.commands += part.router.commands

__all__ = [
    "invite_counts",
    "invite_leaderboard",
    "on_startup",
    "referral_code",
    "referrer_for_code",
    "register_cli",
    "router",
]
