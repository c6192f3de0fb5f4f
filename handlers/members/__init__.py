"""Members: operator-defined member tags (种子用户, VIP, 已购 …) set from chat, the API or
auto-tag rules; the guided actions (clean-up of quiet members, promotion into a VIP group:
dry run, confirmation, daily cap, audit); the member profile in the console (成员档案: a
member's figures, tags and history, and what staff do to them); and the member lists
everything else starts from (who went quiet, VIP candidates, staff).

Other features use ``member_tags``/``tags_of`` (a member's tags), ``staff_ids`` (who runs a
group), ``inactive_members`` and ``vip_candidates`` (the reports' lists). This feature reads
``checkin``, ``referral`` and ``rules``; ``stats`` reads this one.
"""

from __future__ import annotations

from aiohttp import web

from bot import Config, Feature, Job, Page, templates
from handlers.members import commands, execute, profile_actions
from handlers.members.actions import KINDS, dry_run
from handlers.members.actions_api import setup_actions_api
from handlers.members.actions_page import PATH, actions_page, confirm_post
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
from handlers.members.profile_page import PATH as PROFILE
from handlers.members.profile_page import profile_page, profile_post
from handlers.members.tags import member_tags, tags_of

router = commands.router
router.routes += auto_router.routes + execute.router.routes + profile_actions.router.routes


def _web(app: web.Application) -> None:
    setup_api(app)
    setup_actions_api(app)
    app.router.add_post(PATH + "/{kind}", confirm_post)
    app.router.add_post(PROFILE, profile_post)


def _check_targets(config: Config) -> list[str]:
    """``[members.promote] target_group`` must name a group in ``[[groups]]``."""
    known = {g.id for g in config.groups}
    out = []
    for where, gid in [("members", None)] + [
        (f"groups[{i}].members", g.id) for i, g in enumerate(config.groups)
    ]:
        target = config.feature(MembersConfig, gid).promote.target_group
        if target and target not in known:
            out.append(f"{where}.promote.target_group: {target!r} is not a group in [[groups]]")
    return sorted(set(out))


FEATURE = Feature(
    name="members",
    router=router,
    config=MembersConfig,
    templates=templates.owned_by(__name__),
    web=_web,
    jobs=(
        Job("members-auto-tags", queue_auto_tags, EVERY_S),
        Job("members-actions", execute.queue_runs, execute.EVERY_S, at_start=True),
    ),
    checks=(_check_targets,),
    pages=(Page(PATH, actions_page, tab="清理/晋升"), Page(PROFILE, profile_page)),
)

__all__ = [
    "FEATURE",
    "KINDS",
    "Inactive",
    "MembersConfig",
    "Vip",
    "dry_run",
    "inactive_members",
    "member_tags",
    "staff_ids",
    "tags_of",
    "vip_candidates",
]
