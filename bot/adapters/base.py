"""What every adapter shares: the request it reads and the error it raises."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

# No platform nests deeper: WeCom's deepest is <xml><MemChangeList><Item> (3), OneBot's
# message segments 4. A bound keeps every later step (inbox encoding, handlers) off recursion.
MAX_DEPTH = 16
# An event we do not understand is kept for the record only: this much of it, no more
UNKNOWN_KEEP_BYTES = 16 * 1024
# a UTF-16 surrogate on its own: JSON's "\ud800" escape and a terminal's undecodable bytes
# produce one; it cannot be encoded as UTF-8, so the database, the log and the platforms refuse it
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


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


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (a field of the wrong shape is
    read as absent)."""
    return value if isinstance(value, dict) else {}


def reject_entities(body: bytes) -> None:
    """Refuse XML that declares a DTD or entities, before any parser sees it."""
    head = body.upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise AdapterError(400, "xml with DOCTYPE/ENTITY is not accepted")


def check_xml_depth(body: bytes, limit: int = MAX_DEPTH) -> None:
    """Refuse XML nested deeper than ``limit`` elements (400), before it becomes a tree."""
    depth = 0

    def start(_name: str, _attrs: Any) -> None:
        nonlocal depth
        depth += 1
        if depth > limit:
            raise AdapterError(400, f"xml nested deeper than {limit}")

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise AdapterError(400, "malformed XML") from exc


def check_json_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse decoded JSON nested deeper than ``limit`` (400); iterative, so never recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            raise AdapterError(400, f"json nested deeper than {limit}")
        stack.extend((c, depth + 1) for c in children)


def kept(raw: dict[str, Any]) -> dict[str, Any]:
    """What an unknown event keeps: all of it when small, else it is refused (413) — a record
    of something we ignore never needs more than ``UNKNOWN_KEEP_BYTES``."""
    try:
        size = len(json.dumps(raw, ensure_ascii=False).encode())
    except (ValueError, TypeError, RecursionError) as exc:
        raise AdapterError(400, "event cannot be recorded") from exc
    if size > UNKNOWN_KEEP_BYTES:
        raise AdapterError(413, f"unknown event larger than {UNKNOWN_KEEP_BYTES} bytes")
    return raw


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (valid pairs were already joined
    by the decoders), so a member's text always encodes as UTF-8."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def clean_tree(value: Any) -> Any:
    """``clean_text`` applied to every string (keys too) of decoded JSON or XML; callers bound
    the nesting first (``check_json_depth``/``check_xml_depth``)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_tree(v) for v in value]
    return value
