"""Ads and floods.

Rules:
- Ads: links (http(s)://, www., bare domains with common TLDs), Chinese mobile numbers (also
  split by spaces, dashes or dots, or full-width), WeChat-id solicitations (加V/加微/vx/wx/
  微信/+V: …) and link, card, contact (friend or group card) or mini-program messages; all
  looked for in normalised text (NFKC, case folded, ``。`` read as a dot). Prices
  ("99.9元"), dates and version numbers are not ads.
- Flood: more than ``messages`` messages in ``seconds``, or the same text ``repeats`` times in
  ``seconds``. A flood is punished once per window: hits within ``seconds`` of the last
  reported hit of the same member come back with ``first = False`` (the message is still
  stopped, but nobody is warned or told again). Kept in memory per process (bounded); a
  restart forgets recent history, which only delays a flood verdict. Members quiet for longer
  than ``seconds`` are forgotten (their history can no longer count), so memory follows the
  members active right now.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from bot import normalise

_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[a-z0-9-]{2,63}\.(?:com|cn|net|org|top|xyz|vip|shop|cc|me|io|link|site)\b",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# between two digits: spaces, dashes, dots and the like split a number for the eye only
_DIGIT_GAP = re.compile(r"(?<=\d)[\s\-－—–.·•_]+(?=\d)")
_WECHAT = re.compile(r"加(?:v|微|威|薇|vx|wx|我微信)|(?:vx|wx|微信号|微信|薇信|v信)[a-z0-9_]{5,}")
# "+V abc12345": the plus sign is dropped by the strict normalisation, so it is looked for
# in the text without spaces
_PLUS_V = re.compile(r"\+(?:v|vx|wx)[a-z0-9_]{5,}")
# the ideographic full stop reads as a dot in a link ("www。evil。com"); NFKC keeps it
_DOTS = str.maketrans({"。": ".", "｡": ".", "﹒": "."})
AD_ATTACHMENTS = frozenset({"link", "card", "miniprogram", "contact"})


@dataclass(frozen=True, slots=True)
class AdHit:
    kind: str
    excerpt: str


def find_ads(text: str, attachments: tuple[str, ...] = ()) -> list[AdHit]:
    """Ads in a message, matched on normalised text: full-width forms, case, the ideographic
    full stop and separators inside numbers do not hide a link, a number or an id."""
    hits: list[AdHit] = []
    light = unicodedata.normalize("NFKC", text).casefold().translate(_DOTS)
    if m := _URL.search(light):
        hits.append(AdHit("url", m.group(0)[:60]))
    if m := _PHONE.search(_DIGIT_GAP.sub("", light)):
        hits.append(AdHit("phone", m.group(0)))
    norm, _ = normalise(text)
    if m := _WECHAT.search(norm) or _PLUS_V.search("".join(light.split())):
        hits.append(AdHit("wechat_id", m.group(0)[:40]))
    # friend or group cards (OneBot ``contact``) invite people elsewhere like a link does
    if found := [a for a in attachments if a in AD_ATTACHMENTS]:
        hits.append(AdHit("attachment", found[0]))
    return hits


def looks_like_ad(name: str) -> bool:
    """A member name the bot must not repeat: the same detection as for messages."""
    return bool(find_ads(name))


@dataclass(frozen=True, slots=True)
class FloodHit:
    kind: str  # "rate" | "repeat"
    count: int
    first: bool = True  # False: the member was already caught in this flood window


@dataclass(slots=True)
class _History:
    """A member's recent messages and when their last reported flood hit was."""

    q: deque[tuple[float, str]] = field(default_factory=deque)
    hit_at: float | None = None


class FloodTracker:
    def __init__(
        self, messages: int, seconds: float, repeats: int, max_users: int = 50_000
    ) -> None:
        self.messages, self.seconds, self.repeats = messages, seconds, repeats
        self.max_users = max_users
        self._seen: OrderedDict[tuple[str, str], _History] = OrderedDict()

    def record(self, group_id: str, user_id: str, text: str, at: float) -> FloodHit | None:
        key = (group_id, user_id)
        h = self._seen.pop(key, None)
        if h is None:
            h = _History()
        # least recently heard first: drop those whose last message is out of every window
        while self._seen:
            oldest = next(iter(self._seen.values())).q
            if oldest and oldest[-1][0] > at - self.seconds:
                break
            self._seen.popitem(last=False)
        self._seen[key] = h
        while len(self._seen) > self.max_users:
            self._seen.popitem(last=False)
        hit = self._verdict(h.q, text, at)
        if hit is None:
            return None
        if h.hit_at is not None and at - h.hit_at < self.seconds:
            return FloodHit(hit.kind, hit.count, first=False)
        h.hit_at = at
        return hit

    def _verdict(self, q: deque[tuple[float, str]], text: str, at: float) -> FloodHit | None:
        while q and q[0][0] <= at - self.seconds:
            q.popleft()
        q.append((at, text))
        if len(q) > 4 * max(self.messages, self.repeats):
            q.popleft()
        if self.messages and len(q) > self.messages:
            return FloodHit("rate", len(q))
        same = sum(1 for _, t in q if t == text)
        if self.repeats and text and same >= self.repeats:
            return FloodHit("repeat", same)
        return None
