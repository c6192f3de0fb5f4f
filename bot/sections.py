"""The core's config sections (``[server]``, ``[storage]``, ``[bot]``, ``[wecom]``,
``[onebot]``, ``[[groups]]``) and ``Section``, the base of every section, features' too.

Rule: unknown keys are refused (a typo must not silently disable anything).
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Section(BaseModel):
    """Base of every config section: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    shutdown_timeout_s: float = Field(10.0, gt=0)
    # false: this instance only accepts and stores events; another one processes and delivers
    workers: bool = True
    # true: a second process (`groupbot work`, started and watched by `serve`) processes and
    # delivers, so accepting requests and running handlers each get a CPU core
    split_worker: bool = False
    # /healthz answers 503 when a stored event has waited this long past its due time: the
    # process (or split_worker's worker process) that handles events makes no progress
    stall_after_s: float = Field(30.0, gt=0)
    # client connections served at once; more get a quick 503 (/healthz is still answered) —
    # 0: the open-files limit less a quarter of it (at least 128 files) for everything else
    max_connections: int = Field(0, ge=0, le=1_000_000)


class StorageConfig(Section):
    url: str = "sqlite+aiosqlite:///groupbot.db"
    batch_size: int = Field(200, ge=1, le=5000)

    @field_validator("url")
    @classmethod
    def _known_driver(cls, v: str) -> str:
        if not v.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return v


def _check_tz(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {v!r}") from exc
    return v


class BotConfig(Section):
    timezone: str = "Asia/Shanghai"
    admins: list[str] = []
    api_token: str = ""
    name: str = "群助手"
    alert_group: str = ""  # where admin alerts go when no private channel exists
    # text messages to one group that are due together go out as one message (a burst of
    # /签到 replies becomes a few posts instead of a flood, and spares robot rate limits)
    merge_replies: bool = True
    # replies one merged message carries at most: a crash repeats at most this many replies
    # (bot/outbox/merge.py); fewer means more posts in a burst (a robot key allows 20 a minute)
    merge_max_replies: int = Field(10, ge=1, le=50)
    # messages handed to a platform and not yet marked sent, over all targets: a crash sends at
    # most this many again, at most one per target (bot/outbox/worker.py); more overlap hides a
    # slow platform's answer time in a fan-out to many groups (100: the HTTP client's pool)
    sends_in_flight: int = Field(8, ge=1, le=100)
    # how long the dispatcher lets events gather after a quiet spell before it runs them as one
    # batch (bot/runtime.py): at everyday load this saves about half the CPU per event, and
    # delays a reply by at most this much (an answer someone waits for — a 智能机器人 passive
    # reply — ends the wait at once); 0 runs each event as soon as it is stored
    dispatch_linger_ms: int = Field(200, ge=0, le=1000)
    # groups the bridge's account is in but that are not in [[groups]]: "ignore" stores their
    # events and does nothing else, "observe" also tracks members and statistics (no commands,
    # no replies, no effects), "manage" treats them as configured groups without admins
    unknown_groups: Literal["ignore", "observe", "manage"] = "ignore"

    _tz = field_validator("timezone")(_check_tz)


class AibotConfig(Section):
    token: str = ""
    encoding_aes_key: str = ""
    # how long a callback waits for its answer to return it as the passive reply (WeCom drops
    # the request after 5 s); a later answer goes to the message's response_url
    passive_wait_s: float = Field(2.0, ge=0, le=4)


class WeComSyncConfig(Section):
    """Customer-group member sync, join codes and the welcome template (needs ``wecom.secret``)."""

    enabled: bool = True
    delay_s: float = Field(
        2.0, ge=0, le=300
    )  # wait after change_external_chat before groupchat/get
    reconcile_at: str = Field("03:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # nightly, local
    reconcile_on_start: bool = True
    only_configured: bool = True  # sync only [[groups]] with platform "wecom"
    calls_per_second: float = Field(5.0, gt=0, le=100)  # pacing of WeCom API calls
    join_code_days: int = Field(90, ge=1)  # unused personal join codes are deleted after this
    welcome_template: bool = True  # keep WeCom's 入群欢迎语 template in sync with [welcome]


class WeComConfig(Section):
    corp_id: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    secret: str = ""
    # the self-built app's AgentId: app messages (message/send) to staff, e.g. the reminders
    # that ask a customer group's owner to post a programme slot by hand
    agent_id: int = Field(0, ge=0)
    api_base: str = "https://qyapi.weixin.qq.com"
    timestamp_tolerance_s: int = Field(300, ge=0)
    robot_rate_per_minute: int = Field(20, ge=1, le=1000)
    aibot: AibotConfig = AibotConfig()
    sync: WeComSyncConfig = WeComSyncConfig()


class OneBotConfig(Section):
    secret: str = ""
    api_url: str = ""
    access_token: str = ""
    self_id: str = ""
    # true: accept unsigned pushes although OneBot groups are configured (anyone who reaches
    # POST /onebot can then speak as any member, owner included) — only behind a trusted proxy
    allow_unsigned: bool = False


class GroupConfig(BaseModel):
    """One group. Feature overrides (``checkin`` …) stay raw here; see ``Config.feature``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    platform: str = "console"
    name: str = ""
    webhook_key: str = ""
    tags: list[str] = []
    admins: list[str] = []
    timezone: str = ""
    templates: dict[str, str] = {}

    @field_validator("platform")
    @classmethod
    def _platform(cls, v: str) -> str:
        if v not in ("wecom", "onebot", "console", "aibot"):
            raise ValueError("must be one of wecom, onebot, console, aibot")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_tz(v) if v else v


class RetentionConfig(Section):
    """How long finished rows are kept, in days; 0 keeps them forever. An inbox row is its
    event's dedup key, so at least a day is kept (a redelivery is still answered)."""

    inbox_days: int = Field(30, ge=0)  # processed (done/failed) events
    outbox_days: int = Field(30, ge=0)  # sent or dead messages
    audit_days: int = Field(365, ge=0)


class ConsoleConfig(Section):
    """Staff sign-in to the dashboard (``groupbot user add``): a session ends after
    ``idle_minutes`` without a request or ``max_hours`` after signing in, whichever is first;
    after ``max_failures`` wrong passwords for one name or from one address within
    ``lockout_s`` seconds, signing in is refused until that much time has passed."""

    idle_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    max_hours: int = Field(12, ge=1, le=30 * 24)
    max_failures: int = Field(5, ge=1, le=100)
    lockout_s: int = Field(900, ge=1, le=24 * 3600)


class CoreConfig(Section):
    server: ServerConfig = ServerConfig()
    storage: StorageConfig = StorageConfig()
    bot: BotConfig = BotConfig()
    wecom: WeComConfig = WeComConfig()
    onebot: OneBotConfig = OneBotConfig()
    retention: RetentionConfig = RetentionConfig()
    console: ConsoleConfig = ConsoleConfig()
    groups: list[GroupConfig] = []
    templates: dict[str, str] = {}
