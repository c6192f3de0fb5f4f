"""The ``[groupmsg]`` section: how programme slots and broadcasts reach WeCom customer groups
that have no robot (企业群发 tasks and staff reminders). ``owner`` is per group
(``[groups.groupmsg] owner = "<corp userid>"``), as may the caps and ``window_minutes``; the
job's timings (``gather_s``, ``poll_s``, ``remind_before_minutes``, ``call_lease_s``) are read
from ``[groupmsg]``.

Rules:
- A customer group is a ``platform = "wecom"`` group without ``webhook_key`` whose owner is
  known (``owner``) and whose bot has ``[wecom] corp_id`` and ``secret``; anything else is
  posted as before (robot, bridge or console).
- WeCom lets an enterprise reach one customer group with at most ``month_cap`` 企业群发 per
  calendar month (official doc: 4) and, by some sources, ``day_cap`` per day (1): both are
  settings, counted in the group's timezone.
"""

from __future__ import annotations

from pydantic import Field

from bot import Config, Section


class GroupMsgConfig(Section):
    enabled: bool = True
    owner: str = Field("", max_length=64)  # the group owner's corp userid (群主)
    month_cap: int = Field(4, ge=0, le=31)  # 企业群发 per group and calendar month
    day_cap: int = Field(1, ge=0, le=10)  # 企业群发 per group and day
    # a task is created this long after its slot's time, with every group gathered by then
    gather_s: float = Field(20.0, ge=0, le=600)
    # how long the owner has to confirm a task; then what is not sent is "not_sent"
    window_minutes: int = Field(240, ge=10, le=24 * 60)
    # remind_groupmsg_send this long before the window ends (0: never)
    remind_before_minutes: int = Field(30, ge=0, le=24 * 60)
    poll_s: float = Field(300.0, ge=5, le=24 * 3600)  # how often an open task's results are read
    # a task claimed this long ago without a recorded answer is looked up at WeCom (the
    # process died between WeCom's answer and the record); longer than a call can take
    call_lease_s: float = Field(60.0, ge=1, le=3600)


def is_customer_group(config: Config, gid: str | None) -> bool:
    """A WeCom customer group this feature serves (see the module rule)."""
    g = config.group(gid)
    if g is None or g.platform != "wecom" or g.webhook_key:
        return False
    cfg = config.feature(GroupMsgConfig, gid)
    return bool(cfg.enabled and cfg.owner and config.wecom.corp_id and config.wecom.secret)


def agent_check(config: Config) -> list[str]:
    """Staff reminders are app messages: customer groups need ``[wecom] agent_id``."""
    if config.wecom.agent_id:
        return []
    for i, g in enumerate(config.groups):
        if is_customer_group(config, g.id):
            return [
                f"wecom.agent_id: required for staff reminders to the owner of groups[{i}] "
                f"({g.id}), a customer group without webhook_key"
            ]
    return []


def unreachable_warning(config: Config) -> list[str]:
    """A WeCom group with neither a robot nor an owner: posts to it are only logged."""
    return [
        f"groups[{i}] ({g.id}): a WeCom group without webhook_key or groupmsg.owner — posts "
        "to it are only logged; set webhook_key for its robot, or groupmsg.owner (with "
        "wecom.corp_id, secret and agent_id) for 企业群发 and staff reminders"
        for i, g in enumerate(config.groups)
        if g.platform == "wecom"
        and not g.webhook_key
        and not config.feature(GroupMsgConfig, g.id).owner
    ]
