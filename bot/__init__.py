"""groupbot: a bot for running community groups (社群运营) on WeCom and OneBot.

This package's names are what a feature (``handlers/<feature>``) may use of the core; the
other public modules are ``bot.web_public`` (routes and dashboard pages) and ``bot.wecom_api``
(the WeCom server API). Everything else under ``bot`` is the core's own
(``tests/test_layers.py`` checks it).
"""

from bot import templates
from bot.adoptions import Adoptions, adopt_group
from bot.commands import CommandOptions, Role, number
from bot.config import Config
from bot.dispatch.context import Context
from bot.dispatch.router import STOP, Router, group_only, not_command, private_only
from bot.dispatch.tracking import (
    ensure_group,
    group_active,
    members_in_group,
    role_of,
    set_group_active,
)
from bot.events import (
    BotEnteredChat,
    Event,
    GroupChanged,
    Image,
    MemberJoined,
    MemberLeft,
    MessageReceived,
    Scheduled,
    utc,
)
from bot.feature import ConfigLoader, Feature, Job, Page
from bot.first_start import first_start, record_first_start
from bot.group_tags import TagError, effective_tags, group_tags, set_group_tags, stored_tags
from bot.jobs import submit
from bot.members import MemberInfo, Members
from bot.names import NAME_CHECKS, NameCheck, display_name
from bot.repository import Repository
from bot.runtime import Bot
from bot.sections import GroupConfig, Section
from bot.sending import (
    cancel_queued,
    database,
    part_keys,
    queue_app_text,
    queue_group_image,
    queue_group_text,
    queue_private_text,
)
from bot.services import Services
from bot.state import HEALTH, HEALTH_DETAILS, StateKey
from bot.textmatch import PatternError, Patterns, normalise
from storage.direct import prepared

__version__ = "0.1.0"

__all__ = [
    "HEALTH",
    "HEALTH_DETAILS",
    "NAME_CHECKS",
    "STOP",
    "Adoptions",
    "Bot",
    "BotEnteredChat",
    "CommandOptions",
    "Config",
    "ConfigLoader",
    "Context",
    "Event",
    "Feature",
    "GroupChanged",
    "GroupConfig",
    "Image",
    "Job",
    "MemberInfo",
    "MemberJoined",
    "MemberLeft",
    "Members",
    "MessageReceived",
    "NameCheck",
    "Page",
    "PatternError",
    "Patterns",
    "Repository",
    "Role",
    "Router",
    "Scheduled",
    "Section",
    "Services",
    "StateKey",
    "TagError",
    "adopt_group",
    "cancel_queued",
    "database",
    "display_name",
    "effective_tags",
    "ensure_group",
    "first_start",
    "group_active",
    "group_only",
    "group_tags",
    "members_in_group",
    "normalise",
    "not_command",
    "number",
    "part_keys",
    "prepared",
    "private_only",
    "queue_app_text",
    "queue_group_image",
    "queue_group_text",
    "queue_private_text",
    "record_first_start",
    "role_of",
    "set_group_active",
    "set_group_tags",
    "stored_tags",
    "submit",
    "templates",
    "utc",
]
