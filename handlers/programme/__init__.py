"""The programme table (节目表): weekly themed slots posted exactly once per group."""

from __future__ import annotations

from handlers.programme import admin, commands, posting
from handlers.programme.api import register_cli, setup_web
from schedules.engine import on_startup

router = posting.router
for part in (commands, admin):
    router.routes += part.router.routes
    router.commands += part.router.commands

__all__ = ["on_startup", "register_cli", "router", "setup_web"]
