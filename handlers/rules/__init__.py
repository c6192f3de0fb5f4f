"""Group rules (群规) and moderation: checks on every group message (banned words, ads,
flood), warnings that expire, the moderation log and its dashboard page, and the console's
群规与违禁词 page (a group's rules text and banned words over its config).

Other features use ``RulesConfig`` (the ``[rules]`` section, e.g. its ``text``),
``rules_text`` (a group's rules in force), ``warning_count``, the repository
``Moderation`` (warnings, the moderation log, the allow-list), ``allow_listed`` and
``warn_by_staff``/``revoke_by_staff`` (a console staff member's warning and its undo)."""

from __future__ import annotations

import functools

from aiohttp import web

from bot import NAME_CHECKS, Bot, Feature, Page, templates
from handlers.rules.actions import warning_count
from handlers.rules.allowlist import allow_listed
from handlers.rules.commands import rules_text
from handlers.rules.config import RulesConfig
from handlers.rules.console import PATH, rules_edit_page, rules_edit_post
from handlers.rules.guard import router
from handlers.rules.logic import looks_like_ad
from handlers.rules.overrides import RulesOverrides
from handlers.rules.page import moderation_page
from handlers.rules.repo import Moderation
from handlers.rules.staff import revoke_by_staff, warn_by_staff


async def _check_names(bot: Bot) -> None:
    """Names that look like ads are masked wherever the bot repeats them (bot/names.py). A
    member's name comes with each of their messages and rarely changes: the verdicts of the
    names seen last are kept (the check depends on the name alone)."""
    bot.services.state.need(NAME_CHECKS).append(functools.lru_cache(maxsize=4096)(looks_like_ad))


def _web(app: web.Application) -> None:
    """The POST target of the console's 群规与违禁词 form."""
    app.router.add_post(PATH, rules_edit_post)


FEATURE = Feature(
    name="rules",
    router=router,
    config=RulesConfig,
    templates=templates.owned_by(__name__),
    startup=_check_names,
    web=_web,
    pages=(
        Page("/admin/moderation", moderation_page, nav="管理日志", tab="管理日志"),
        Page(PATH, rules_edit_page, nav="群规"),
    ),
    repositories=(Moderation, RulesOverrides),
)

__all__ = [
    "FEATURE",
    "Moderation",
    "RulesConfig",
    "allow_listed",
    "revoke_by_staff",
    "rules_text",
    "warn_by_staff",
    "warning_count",
]
