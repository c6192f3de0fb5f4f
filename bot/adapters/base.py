"""What every adapter shares: the request it reads and the error it raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


class AdapterError(Exception):
    """A request we refuse. ``status`` is the HTTP answer (400, 401, 403, 413, 415)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Request:
    """The parts of an HTTP request an adapter may look at."""

    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


def reject_entities(body: bytes) -> None:
    """Refuse XML that declares a DTD or entities, before any parser sees it."""
    head = body.upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise AdapterError(400, "xml with DOCTYPE/ENTITY is not accepted")
