"""The programme table (节目表): weekly themed slots posted exactly once per group, its API,
``groupbot programme show``, the dashboard's week page and the console's 节目编辑 page.

Other features may post a one-off occurrence through ``post_once`` (same ledger, same
posting path, exactly once)."""

from __future__ import annotations

from aiohttp import web

from bot import Feature, Page, templates
from handlers.programme import admin, commands, posting
from handlers.programme.api import register_cli, setup_web
from handlers.programme.caps import check_config_warnings
from handlers.programme.config import ProgrammeConfig, quiet_hours_check
from handlers.programme.console import PATH, programme_edit_page, programme_edit_post
from handlers.programme.page import programme_page
from handlers.programme.posting import post_once
from handlers.programme.ticks import JOB, on_startup

router = posting.router
for part in (commands, admin):
    router.routes += part.router.routes
    router.commands += part.router.commands


def _web(app: web.Application) -> None:
    """The JSON routes, and the POST target of the console's 节目编辑 form."""
    setup_web(app)
    app.router.add_post(PATH, programme_edit_post)


FEATURE = Feature(
    name="programme",
    router=router,
    config=ProgrammeConfig,
    templates=templates.owned_by(__name__),
    startup=on_startup,
    jobs=(JOB,),
    web=_web,
    cli=register_cli,
    pages=(
        Page("/admin/groups/{gid}/programme", programme_page, tab="本周节目"),
        Page(PATH, programme_edit_page, nav="节目编辑"),
    ),
    checks=(quiet_hours_check,),
    warnings=(check_config_warnings,),
)

__all__ = ["FEATURE", "ProgrammeConfig", "post_once"]
