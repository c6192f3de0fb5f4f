"""企业群发 and staff reminders for WeCom customer groups without a robot: the channel choice
(``hand_over``), the tasks made with ``add_msg_template`` and followed until they settle,
cancelling (``cancel_source``), the caps, and each group's delivery state (``states_for``).

The ``groupmsg.round`` job (every ``ROUND_S`` seconds on the scheduler leader) makes every
WeCom call: handlers only write items down."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot import Feature, Job, templates
from bot.wecom_api import WeComError, client_for
from handlers.groupmsg.config import (
    GroupMsgConfig,
    agent_check,
    is_customer_group,
    unreachable_warning,
)
from handlers.groupmsg.follow import cancel_source, follow
from handlers.groupmsg.route import day_span, hand_over, month_span
from handlers.groupmsg.states import STATE_CN, states_for
from handlers.groupmsg.tasks import call_ready, gather, recover

if TYPE_CHECKING:
    from bot import Bot

log = logging.getLogger("groupbot.groupmsg")
ROUND_S = 5.0


async def run_once(bot: Bot) -> None:
    """One round: gather, settle the crash window, create, follow (in this order)."""
    c = client_for(bot)
    if c is None:
        return
    now = bot.clock.now()
    await gather(bot, now)
    for step in (recover, call_ready, follow):
        try:
            await step(bot, c, now)
        except WeComError as exc:
            log.warning("groupmsg %s: %s (tried again next round)", step.__name__, exc)


FEATURE = Feature(
    name="groupmsg",
    config=GroupMsgConfig,
    templates=templates.owned_by(__name__),
    jobs=(Job("groupmsg.round", run_once, ROUND_S),),
    checks=(agent_check,),
    warnings=(unreachable_warning,),
)

__all__ = [
    "FEATURE",
    "STATE_CN",
    "GroupMsgConfig",
    "cancel_source",
    "day_span",
    "hand_over",
    "is_customer_group",
    "month_span",
    "run_once",
    "states_for",
]
