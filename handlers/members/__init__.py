"""Members: operator-defined member tags (种子用户, VIP, 已购 …) set from chat, the API or
auto-tag rules, and the member lists everything else starts from (who went quiet, VIP
candidates, staff).

Other features use ``member_tags``/``tags_of`` (a member's tags), ``staff_ids`` (who runs a
group), ``inactive_members`` and ``vip_candidates`` (the reports' lists). This feature reads
``checkin``, ``referral`` and ``rules``; ``stats`` reads this one.
"""

from __future__ import annotations

from aiohttp import web

from bot import Feature, Job, templates
from handlers.members import commands
from handlers.members.api import setup_api
from handlers.members.auto import EVERY_S, queue_auto_tags
from handlers.members.auto import router as auto_router
from handlers.members.candidates import (
    Inactive,
    Vip,
    inactive_members,
    staff_ids,
    vip_candidates,
)
from handlers.members.config import MembersConfig
from handlers.members.tags import member_tags, tags_of

router = commands.router
router.routes += auto_router.routes


def _web(app: web.Application) -> None:
    setup_api(app)


FEATURE = Feature(
    name="members",
    router=router,
    config=MembersConfig,
    templates=templates.owned_by(__name__),
    web=_web,
    jobs=(Job("members-auto-tags", queue_auto_tags, EVERY_S),),
)

__all__ = [
    "FEATURE",
    "Inactive",
    "MembersConfig",
    "Vip",
    "inactive_members",
    "member_tags",
    "staff_ids",
    "tags_of",
    "vip_candidates",
]
