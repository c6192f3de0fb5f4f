"""What must hold before the bot starts, each failure told in one line naming the config key.

Rules:
- ``serve`` binds its listening sockets before the bot starts and hands them to the web
  server: a port in use is told at once (``[server] port 8080 is in use (host 127.0.0.1)``;
  ``--port`` when the port came from the command line), before any migration or job runs.
- The bot connects to its database once, within ``CONNECT_TIMEOUT_S``, before anything else
  starts: ``[storage] url: cannot connect to postgresql+asyncpg://gb:***@db:5432/groupbot:
  connection refused``. The URL is shown with its password masked and without its query
  (which may carry one); the password is also masked should the driver's reason repeat it.
- Both are ``StartupError``; the command line prints the line and exits 1, no traceback.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket

from sqlalchemy.engine import make_url

from storage.db import Database

CONNECT_TIMEOUT_S = 10.0
EXIT_CANNOT_START = 1


class StartupError(Exception):
    """The bot cannot start; ``str()`` is the one line to show the operator."""


def listen_sockets(host: str, port: int, port_key: str = "[server] port") -> list[socket.socket]:
    """Bound (not yet listening) TCP sockets for ``host``:``port``, one per address."""
    shown = host or "*"
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        reason = exc.strerror
        raise StartupError(f"[server] host {shown!r}: cannot be resolved ({reason})") from None
    out: list[socket.socket] = []
    seen: set[object] = set()
    try:
        for family, kind, proto, _name, addr in infos:
            if addr in seen:
                continue
            seen.add(addr)
            sock = socket.socket(family, kind, proto)
            out.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(addr)
    except OSError as exc:
        for sock in out:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"{port_key} {port} is in use (host {shown})") from None
        if exc.errno == errno.EACCES:
            raise StartupError(
                f"{port_key} {port}: not allowed to listen there (ports below 1024 need privileges)"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise StartupError(f"[server] host {shown}: not an address of this machine") from None
        raise StartupError(f"{port_key} {port} (host {shown}): {_reason(exc)}") from None
    return out


def public_url(url: str) -> str:
    """``url`` fit to print: password masked, query dropped."""
    try:
        return make_url(url).set(query={}).render_as_string(hide_password=True)
    except Exception:
        return url.split("://", 1)[0] + "://…"


def _reason(exc: BaseException) -> str:
    """The driver's own words: the DBAPI error under SQLAlchemy's wrapper, an OS error's text."""
    inner = getattr(exc, "orig", None) or exc
    if isinstance(inner, socket.gaierror) and inner.strerror:
        return inner.strerror
    if isinstance(inner, OSError) and inner.errno:
        return os.strerror(inner.errno).lower()
    text = str(inner).strip() or type(inner).__name__
    return text.splitlines()[0]


async def check_database(db: Database, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Connect once and run ``SELECT 1``; StartupError with the reason if that fails."""
    try:
        async with asyncio.timeout(timeout_s), db.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return
    except TimeoutError:
        reason = f"no answer within {timeout_s:g} s"
    except Exception as exc:
        reason = _reason(exc)
    password = make_url(db.url).password
    if password:
        reason = reason.replace(str(password), "***")
    raise StartupError(f"[storage] url: cannot connect to {public_url(db.url)}: {reason}")
