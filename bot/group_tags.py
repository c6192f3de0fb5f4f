"""A group's effective tags: the one place tags are resolved.

Rules:
- A group's tags are its configured ``[[groups]].tags`` (in their order, fixed by the file),
  then the tags given to it from the console or ``PUT /api/groups/{gid}/tags`` (rows of
  ``group_tags``, in the order they were given) that the file does not already give.
  Broadcast targets (``tag:<t>``), programme targets, ``/api/groups`` and the group matrix
  read them through here. (Reward pools shared by tag and the welcome's overflow suggestions
  keep to the configured tags: a pool's codes must not move with a console edit.)
- Setting a group's stored tags replaces them; a configured tag sent along is simply kept by
  the file (it is not stored). A tag is 1–32 characters with no whitespace, comma, colon or
  control character; a group has at most ``MAX_TAGS`` stored tags. Bad input changes nothing
  (``TagError`` names the tag).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from storage.models import GroupTag

MAX_TAGS = 20
TAG_RE = re.compile(r"[^\s,，:：\x00-\x1f\x7f]{1,32}")


class TagError(ValueError):
    """A tag that cannot be stored (the message names it)."""


def check_tags(tags: Sequence[object]) -> list[str]:
    """The tags, each checked (module rules), duplicates dropped, in the order given."""
    out: list[str] = []
    for i, t in enumerate(tags):
        if not isinstance(t, str) or not TAG_RE.fullmatch(t):
            raise TagError(
                f"tags[{i}]: a tag is 1-32 characters without spaces, commas, colons "
                "or control characters"
            )
        if t not in out:
            out.append(t)
    if len(out) > MAX_TAGS:
        raise TagError(f"tags: at most {MAX_TAGS} tags per group")
    return out


def merge_tags(configured: Iterable[str], stored: Iterable[str]) -> tuple[str, ...]:
    """Configured tags, then stored ones the file does not give (module rule)."""
    out = list(dict.fromkeys(configured))
    out += [t for t in stored if t not in out]
    return tuple(out)


async def stored_tags(
    session: AsyncSession, gids: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """The stored tags per group (of ``gids``, or every group that has some), in the order
    they were given."""
    q = select(GroupTag.group_id, GroupTag.tag).order_by(GroupTag.position, GroupTag.tag)
    if gids is not None:
        q = q.where(GroupTag.group_id.in_(list(gids)))
    out: dict[str, list[str]] = {}
    for gid, tag in (await session.execute(q)).all():
        out.setdefault(gid, []).append(tag)
    return out


def effective_tags(
    config: Config, stored: Mapping[str, Sequence[str]]
) -> dict[str, tuple[str, ...]]:
    """Every configured group's tags and every other group's stored ones (module rule)."""
    out = {g.id: merge_tags(g.tags, stored.get(g.id, ())) for g in config.groups}
    for gid, tags in stored.items():
        out.setdefault(gid, merge_tags((), tags))
    return out


async def group_tags(
    session: AsyncSession, config: Config, gids: Iterable[str]
) -> dict[str, tuple[str, ...]]:
    """The effective tags of each of ``gids`` (module rule); a group without tags maps to
    ``()``."""
    wanted = list(gids)
    many = len(wanted) > 500  # a long list: read every stored tag rather than name the ids
    stored = await stored_tags(session, None if many else wanted)
    out: dict[str, tuple[str, ...]] = {}
    for gid in wanted:
        g = config.group(gid)
        out[gid] = merge_tags(g.tags if g is not None else (), stored.get(gid, ()))
    return out


async def set_group_tags(
    session: AsyncSession, config: Config, gid: str, tags: Sequence[object], now: datetime
) -> tuple[str, ...]:
    """Replace ``gid``'s stored tags (TagError for bad input, nothing changed); returns its
    effective tags."""
    wanted = check_tags(tags)
    g = config.group(gid)
    configured = list(g.tags) if g is not None else []
    keep = [t for t in wanted if t not in configured]
    since = dict(
        (
            await session.execute(
                select(GroupTag.tag, GroupTag.added_at).where(GroupTag.group_id == gid)
            )
        ).all()
    )
    await session.execute(delete(GroupTag).where(GroupTag.group_id == gid))
    for i, t in enumerate(keep):
        session.add(GroupTag(group_id=gid, tag=t, position=i, added_at=since.get(t, now)))
    await session.flush()
    return merge_tags(configured, (await stored_tags(session, [gid])).get(gid, []))
