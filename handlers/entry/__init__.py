"""活码 entry (``[[entry]]``): a public page ``/j/{campaign}`` that shows the join QR of the
first group of a campaign with room, counts visits and the joins that follow, and alerts
admins when every group is full or a QR is about to expire; the console's 活码 page uploads
the QRs. A campaign with ``[entry.wecom]`` is backed by a WeCom 加入群聊 code (joinway.py),
and the groups WeCom opens for it are adopted (adopt.py)."""

from __future__ import annotations

from aiohttp import web

from bot import Feature, Job, Page, templates
from handlers.entry import public
from handlers.entry.api import setup_web
from handlers.entry.cli import register_cli
from handlers.entry.config import EntryConfig, check
from handlers.entry.events import WATCH_S, qr_watch, router
from handlers.entry.joinway import EVERY_S, round_job
from handlers.entry.page import PATH, entry_admin_page, qr_post


def _web(app: web.Application) -> None:
    setup_web(app)
    app.router.add_get("/j/{campaign}", public.entry_page)
    app.router.add_post(PATH + "/{campaign}/{group}/qr", qr_post)


FEATURE = Feature(
    name="entry",
    router=router,
    config=EntryConfig,
    templates=templates.owned_by(__name__),
    web=_web,
    pages=(Page(PATH, entry_admin_page, nav="活码"),),
    jobs=(
        Job("entry.qr_watch", qr_watch, WATCH_S, at_start=True),
        Job("entry.wecom", round_job, EVERY_S, at_start=True),
    ),
    cli=register_cli,
    checks=(check,),
)

__all__ = ["FEATURE", "EntryConfig"]
