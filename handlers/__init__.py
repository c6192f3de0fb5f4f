"""Feature handlers, in the order they see each event (no auto-discovery).

Each feature module exports ``router``; optionally ``on_startup(bot)``/``on_shutdown(bot)``
coroutines, ``setup_web(app)`` for its API routes and ``register_cli(subparsers)``.
Moderation comes first so that it can stop a message before any command runs.
"""

from __future__ import annotations

from types import ModuleType

from handlers import checkin, programme, referral, rules, stats, wecom_sync, welcome
from handlers import help as help_

FEATURES: list[ModuleType] = [
    wecom_sync,  # turns WeCom customer-group changes into member joined/left events
    stats,  # counts every message, join and leave, even those moderation stops
    rules,  # moderation may stop a message before anything else sees it
    welcome,
    referral,
    checkin,
    programme,
    help_,
]

ROUTERS = [m.router for m in FEATURES]
STARTUP = [m.on_startup for m in FEATURES if hasattr(m, "on_startup")]
SHUTDOWN = [m.on_shutdown for m in FEATURES if hasattr(m, "on_shutdown")]
WEB = [m.setup_web for m in FEATURES if hasattr(m, "setup_web")]
CLI = [m.register_cli for m in FEATURES if hasattr(m, "register_cli")]
