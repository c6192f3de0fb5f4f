"""The features, in the order they see each event (no auto-discovery).

Each feature package exports one ``FEATURE`` (``bot.Feature``): its router, config section,
templates, start/stop hooks, periodic jobs, web routes, dashboard pages and CLI commands.
``handlers/app.py`` hands this list to the core. Moderation comes first among the features
that answer members, so that it can stop a message before any command runs.
"""

from __future__ import annotations

from bot import Feature
from handlers import (
    activation,
    autoreply,
    broadcast,
    checkin,
    entry,
    groupmsg,
    matrix,
    members,
    programme,
    referral,
    rules,
    stats,
    wecom_sync,
    weekly,
    welcome,
)
from handlers import help as help_

FEATURES: list[Feature] = [
    wecom_sync.FEATURE,  # turns WeCom customer-group changes into member joined/left events
    stats.FEATURE,  # counts every message, join and leave, even those moderation stops
    rules.FEATURE,  # moderation may stop a message before anything else sees it
    welcome.FEATURE,
    referral.FEATURE,
    checkin.FEATURE,
    groupmsg.FEATURE,  # 企业群发 and staff reminders for customer groups without a robot
    programme.FEATURE,
    members.FEATURE,  # member tags (/标签), auto-tag rules, guided actions
    broadcast.FEATURE,  # operators' broadcasts (群发): scheduled fan-out, delivery reports
    matrix.FEATURE,  # the group matrix: every group's figures side by side, by tag
    weekly.FEATURE,  # the weekly summary (周报): posted once a week, downloadable
    entry.FEATURE,  # 活码: the public /j/{campaign} page fills groups in turn
    activation.FEATURE,  # 红包激活: quiet groups planned for a reminder, lottery or post
    autoreply.FEATURE,  # answers what no command or feature took; after moderation
    help_.FEATURE,
]
