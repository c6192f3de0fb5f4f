"""Structured logs: one JSON object per line, carrying the event id; secrets never printed.

Rules:
- Every log line written while an event is processed carries ``event_id``.
- The configured token, AES keys, secrets and API token are replaced by ``***`` wherever they
  would appear in a line (message, arguments or traceback).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

event_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("event_id", default=None)


class JsonFormatter(logging.Formatter):
    """``{"ts","level","logger","msg","event_id"?, "exc"?}`` with secrets masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        return text

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": self.mask(record.getMessage()),
        }
        eid = event_id_var.get()
        if eid is not None:
            out["event_id"] = eid
        if record.exc_info:
            out["exc"] = self.mask(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


class _Handler(logging.StreamHandler[Any]):
    """The handler ``setup`` installs; found again by its class, so setup is idempotent."""

    _groupbot = True  # (tests tell it from pytest's own handlers by this mark)


def setup(level: str = "INFO", secrets: Iterable[str] = (), stream: Any = None) -> None:
    """Route the root logger through the JSON formatter (idempotent)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, _Handler):
            root.removeHandler(h)
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def secrets_of(config: Any) -> list[str]:
    """Every secret value in a loaded config."""
    w = config.wecom
    return [
        w.token,
        w.encoding_aes_key,
        w.secret,
        w.aibot.token,
        w.aibot.encoding_aes_key,
        config.onebot.secret,
        config.onebot.access_token,
        config.bot.api_token,
        *[g.webhook_key for g in config.groups],
    ]
