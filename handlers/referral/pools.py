"""Reward-code pools: which pool a group's claims draw from, and who may fill which pool.

Rules:
- A configured group draws from the pool its ``[referral]`` names (``pool_by``/``pool``; the
  default is the one shared pool ``""``, as before pools existed). A group not in
  ``[[groups]]`` (served only with ``[bot] unknown_groups = "manage"``) always has a pool of
  its own, so it can never draw the operator's codes.
- Codes imported from chat go only into the pools of groups the sender administers (a group's
  configured admins; global admins administer every configured group). ``groupbot rewards
  import`` fills the shared pool or, with ``--group``, that group's pool.
- Importing fulfils waiting claims of that pool only.
"""

from __future__ import annotations

from bot import Config
from handlers.referral.config import ReferralConfig


def pool_of(config: Config, group_id: str) -> str:
    """The name of the pool ``group_id``'s claims draw from."""
    g = config.group(group_id)
    if g is None:
        return f"group:{group_id}"
    cfg = config.feature(ReferralConfig, group_id)
    if cfg.pool_by == "group" or (cfg.pool_by == "tag" and not g.tags):
        return f"group:{group_id}"
    if cfg.pool_by == "tag":
        return f"tag:{g.tags[0]}"
    return cfg.pool


def administered(config: Config, user_id: str) -> list[str]:
    """The configured groups ``user_id`` may import codes for, in config order."""
    every = user_id in config.bot.admins
    return [g.id for g in config.groups if every or user_id in g.admins]


def pools_for(config: Config, group_ids: list[str]) -> dict[str, list[str]]:
    """Pool name → the groups (of ``group_ids``) drawing from it."""
    out: dict[str, list[str]] = {}
    for gid in group_ids:
        out.setdefault(pool_of(config, gid), []).append(gid)
    return out
