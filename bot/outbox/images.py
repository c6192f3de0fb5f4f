"""Images a reply carries (``image`` rows): what each platform is sent.

Rules:
- An image is an http(s) URL or an absolute path to a local file (operator config only; a
  member's text never names one).
- OneBot takes either as an image segment (a local file as a ``file://`` URI).
- A WeCom robot takes an image only as the file's bytes (base64 and MD5, at most 2 MB); a URL
  is sent as a news card showing the picture. A missing or oversize file is a permanent
  failure with the reason.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path
from typing import Any

MAX_BYTES = 2 * 1024 * 1024


def is_url(ref: str) -> bool:
    return ref.startswith(("https://", "http://"))


def onebot_segment(ref: str) -> dict[str, Any]:
    """The OneBot v11 image segment for ``ref``."""
    file = ref if is_url(ref) else Path(ref).as_uri()
    return {"type": "image", "data": {"file": file}}


async def wecom_robot_body(ref: str, title: str = "") -> dict[str, Any]:
    """The robot webhook body for ``ref``; ``ValueError`` when the file cannot be sent."""
    if is_url(ref):
        article = {"title": title or "图片", "url": ref, "picurl": ref}
        return {"msgtype": "news", "news": {"articles": [article]}}
    try:
        data = await asyncio.to_thread(Path(ref).read_bytes)
    except OSError as exc:
        raise ValueError(f"image file {ref}: {exc.strerror or exc}") from exc
    if len(data) > MAX_BYTES:
        raise ValueError(f"image file {ref} is larger than 2 MB")
    return {
        "msgtype": "image",
        "image": {"base64": base64.b64encode(data).decode(), "md5": hashlib.md5(data).hexdigest()},
    }
