"""Structured logs: one JSON object per line, carrying the event id; secrets never printed.

Rules:
- Every log line written while an event is processed carries ``event_id``.
- The configured token, AES keys, secrets and API token are replaced by ``***`` wherever they
  would appear in a line (message, arguments or traceback).
- Repeats are rate-limited: of the records of one kind (logger, level, first line of the
  message template) at most ``REPEAT_BURST`` are written per ``REPEAT_WINDOW_S``; the next one
  written says how many were left out (``"suppressed": n``). A fault that repeats thousands of
  times a second (e.g. ``accept()`` out of file descriptors) must not fill the disk.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

event_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("event_id", default=None)
REPEAT_BURST = 20
REPEAT_WINDOW_S = 10.0


class RepeatLimit(logging.Filter):
    """Drops repeats beyond ``burst`` per ``window_s`` for each kind of record (module rules);
    the first record let through afterwards carries the count in ``suppressed``."""

    def __init__(
        self,
        burst: int = REPEAT_BURST,
        window_s: float = REPEAT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window_s = window_s
        self.clock = clock
        # kind → [window start, records written in it, records dropped since the last written]
        self._kinds: dict[tuple[str, int, str], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg).split("\n", 1)[0][:120])
        now = self.clock()
        st = self._kinds.get(key)
        if st is None or now - st[0] >= self.window_s:
            if len(self._kinds) > 1000:  # forget kinds whose window is over
                self._kinds = {k: v for k, v in self._kinds.items() if now - v[0] < self.window_s}
            st = self._kinds[key] = [now, 0, st[2] if st else 0]
        if st[1] >= self.burst:
            st[2] += 1
            return False
        st[1] += 1
        if st[2]:
            record.suppressed = int(st[2])
            st[2] = 0
        return True


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
        suppressed = getattr(record, "suppressed", 0)
        if suppressed:
            out["suppressed"] = suppressed
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
    handler.addFilter(RepeatLimit())
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft limit of open files to the hard limit (every connection is a file);
    returns (before, after)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or soft >= hard:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        return soft, soft
    logging.getLogger("groupbot").info("open files limit raised from %d to %d", soft, hard)
    return soft, hard


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
