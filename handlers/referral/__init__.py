"""Invite counting and referral rewards (邀请有礼): attribution, qualification, tiers, claims.

Other features use ``invite_counts`` and ``invite_leaderboard``.
"""

from __future__ import annotations

from handlers.referral import admin, claims, commands
from handlers.referral.cli import register_cli
from handlers.referral.ledger import invite_counts, invite_leaderboard
from handlers.referral.settle import on_startup

router = commands.router
for part in (claims, admin):
    router.routes += part.router.routes
    router.commands += part.router.commands

__all__ = ["invite_counts", "invite_leaderboard", "on_startup", "register_cli", "router"]
