"""Group rules (群规) and moderation: checks on every group message (banned words, ads,
flood), warnings that expire, the moderation log and its dashboard page.

Other features use ``RulesConfig`` (the ``[rules]`` section, e.g. its ``text``),
``rules_text`` (a group's rules in force), ``warning_count`` and the repository
``Moderation`` (warnings, the moderation log, the allow-list) and ``allow_listed``."""

from __future__ import annotations

from bot import NAME_CHECKS, Bot, Feature, Page, templates
from handlers.rules.actions import warning_count
from handlers.rules.allowlist import allow_listed
from handlers.rules.commands import rules_text
from handlers.rules.config import RulesConfig
from handlers.rules.guard import router
from handlers.rules.logic import looks_like_ad
from handlers.rules.page import moderation_page
from handlers.rules.repo import Moderation


async def _check_names(bot: Bot) -> None:
    """Names that look like ads are masked wherever the bot repeats them (bot/names.py)."""
    bot.services.state.need(NAME_CHECKS).append(looks_like_ad)


FEATURE = Feature(
    name="rules",
    router=router,
    config=RulesConfig,
    templates=templates.owned_by(__name__),
    startup=_check_names,
    pages=(Page("/admin/moderation", moderation_page, nav="管理日志", tab="管理日志"),),
    repositories=(Moderation,),
)

__all__ = [
    "FEATURE",
    "Moderation",
    "RulesConfig",
    "allow_listed",
    "rules_text",
    "warning_count",
]
