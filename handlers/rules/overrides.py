"""A group's rules text and banned words changed from the console (the text also with
``/设置规则``), kept as per-group settings (``group_settings``) over the ``[rules]`` section.

Rules:
- An override is checked exactly as the config is: the group's ``RulesConfig`` with the new
  values goes through the same pydantic section (each banned word compiled on its own by
  ``bot.Patterns``), and a refusal names the field by its key path as the config would
  (``rules.banned_words[2]: …``); nothing is stored then. The text is not empty and at most
  2,000 characters, as with ``/设置规则``.
- The banned words in force for a message are read with the batch's other rows: the
  repository's ``preload`` reads the overrides of the batch's groups in one query, so every
  instance uses an edit from the group's next message on, and a restart keeps it.
- Clearing the overrides (恢复配置) returns the group to its config.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select

from bot import Event, MessageReceived, Repository, Services
from handlers.rules.config import RulesConfig
from storage.dialect import insert
from storage.models import GroupSetting

TEXT = "rules.text"
BANNED = "rules.banned_words"
KEYS = (TEXT, BANNED)
MAX_TEXT = 2000


class RulesRefused(ValueError):
    """A refused override: ``field`` is its config key path."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


def key_path(loc: Iterable[Any]) -> str:
    """A pydantic error location as the config names it: ``rules.banned_words[1]``."""
    return "rules" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


def checked(cfg: RulesConfig, text: str, words: Iterable[str]) -> RulesConfig:
    """The group's section with this text and these banned words, or RulesRefused."""
    if not text.strip():
        raise RulesRefused("rules.text", "must not be empty")
    if len(text) > MAX_TEXT:
        raise RulesRefused("rules.text", f"at most {MAX_TEXT} characters")
    data = {**cfg.model_dump(), "text": text, "banned_words": list(words)}
    try:
        return RulesConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise RulesRefused(key_path(err["loc"]), str(err["msg"])) from None


def in_force(cfg: RulesConfig, banned: Sequence[str] | None) -> RulesConfig:
    """``cfg`` with the group's banned-words override (None: the config's)."""
    if banned is None:
        return cfg
    return cfg.model_copy(update={"banned_words": list(banned)})


class RulesOverrides(Repository):
    """The rules settings a group was given over its config (``group_settings`` rows)."""

    async def preload(self, events: Sequence[Event], services: Services) -> None:
        """The banned-words override of every group a batch's messages come from."""
        gids = {ev.group_id for ev in events if isinstance(ev, MessageReceived) and ev.group_id}
        await self._load_rows(GroupSetting, [(g, BANNED) for g in sorted(gids)])

    async def banned_words(self, group_id: str) -> tuple[str, ...] | None:
        """The group's banned words when set from the console, else None (the config's)."""
        row = await self._row(GroupSetting, group_id, BANNED)
        if row is None or not isinstance(row.value, list):
            return None
        return tuple(str(w) for w in row.value)

    async def current(self, group_id: str) -> dict[str, Any]:
        """The group's overrides: {key: value} for the keys set."""
        rows = await self._query(
            select(GroupSetting.key, GroupSetting.value).where(
                GroupSetting.group_id == group_id, GroupSetting.key.in_(KEYS)
            )
        )
        return {str(k): v for k, v in rows.all()}

    async def save(self, group_id: str, key: str, value: Any, by: str, at: datetime) -> None:
        """Set one override (``key`` in KEYS), recording who set it."""
        assert key in KEYS
        row = {"value": value, "updated_by": by[:128], "updated_at": at}
        stmt = insert(self._db, GroupSetting).values(group_id=group_id, key=key, **row)
        stmt = stmt.on_conflict_do_update(index_elements=["group_id", "key"], set_=row)
        await self._execute(stmt, changes=[(GroupSetting, (group_id, key))])

    async def clear(self, group_id: str) -> int:
        """Drop the group's overrides; how many there were."""
        had = await self.current(group_id)
        await self._execute(
            delete(GroupSetting).where(
                GroupSetting.group_id == group_id, GroupSetting.key.in_(KEYS)
            ),
            changes=[(GroupSetting, (group_id, k)) for k in KEYS],
        )
        return len(had)
