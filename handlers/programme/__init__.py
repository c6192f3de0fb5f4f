"""The programme table (节目表): weekly themed slots posted exactly once per group, its API,
``groupbot programme show`` and the dashboard's week page."""

from __future__ import annotations

from bot import Feature, Page, templates
from handlers.programme import admin, commands, posting
from handlers.programme.api import register_cli, setup_web
from handlers.programme.caps import check_config_warnings
from handlers.programme.config import ProgrammeConfig, quiet_hours_check
from handlers.programme.page import programme_page
from handlers.programme.ticks import JOB, on_startup

router = posting.router
for part in (commands, admin):
    router.routes += part.router.routes
    router.commands += part.router.commands

FEATURE = Feature(
    name="programme",
    router=router,
    config=ProgrammeConfig,
    templates=templates.owned_by(__name__),
    startup=on_startup,
    jobs=(JOB,),
    web=setup_web,
    cli=register_cli,
    pages=(Page("/admin/groups/{gid}/programme", programme_page, tab="本周节目"),),
    checks=(quiet_hours_check,),
    warnings=(check_config_warnings,),
)

__all__ = ["FEATURE", "ProgrammeConfig"]
