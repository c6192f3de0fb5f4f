"""WeCom's own 入群欢迎语 template, kept in step with ``[welcome]`` and ``[rules]``.

Rules:
- On a customer group WeCom itself greets newcomers with a template staff pick in the client;
  the API can only create, edit and delete templates (``group_welcome_template/add|edit|del``),
  not attach one to a group. So the bot keeps one template for the default text (scope
  ``default``) and one per synced group whose text differs; staff pick it once.
- The text is the ``wecom.welcome_template`` template rendered for that scope; WeCom replaces
  ``%NICKNAME%`` with the newcomer's name. A changed text edits the same template (its id, and so
  the staff's choice, stays); an unchanged text makes no call; a scope no longer needed (welcome
  disabled, override removed) has its template deleted.
- WeCom takes at most 3,000 bytes of ``text.content``; a text that would be longer (a long
  ``[rules] text``) is a config error at start and in ``check-config``, naming the key to shorten,
  so ``group_welcome_template/add`` never fails on it.
- The personal greeting (``welcome.greet``) still goes out through the group's robot where one
  is configured.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from bot import templates
from bot.wecom_api import WeComClient, WeComError
from handlers.rules import RulesConfig
from handlers.welcome import WelcomeConfig
from storage.models_wecom import WeComWelcomeTemplate

if TYPE_CHECKING:
    from bot import Bot, Config

log = logging.getLogger("groupbot.wecom.welcome")
T_TEMPLATE = templates.register(
    "wecom.welcome_template",
    "🎉 欢迎 %NICKNAME% 加入{group}！\n群规：\n{rules}\n@{bot} 发送 /帮助 看看能做什么～",
    "group",
    "bot",
    "rules",
)
PATH = "externalcontact/group_welcome_template"
MAX_BYTES = 3000  # WeCom: text.content of a welcome template


def _text(cfg: Config, gid: str | None) -> str | None:
    """The template text for a scope (``None``: the default), or None when welcome is off."""
    if not cfg.feature(WelcomeConfig, gid).enabled:
        return None
    return templates.render(
        cfg,
        T_TEMPLATE,
        gid,
        group="本群",  # one text for many groups: only overrides make a group's own
        bot=cfg.bot.name,
        rules=cfg.feature(RulesConfig, gid).text,
    )


def _scopes(cfg: Config) -> list[tuple[str, str | None, str]]:
    """(scope, group id or None, text) of every template that should exist."""
    out: list[tuple[str, str | None, str]] = []
    default = _text(cfg, None)
    if default is not None:
        out.append(("default", None, default))
    for g in cfg.groups:
        if g.platform != "wecom":
            continue
        mine = _text(cfg, g.id)
        if mine is not None and mine != default:
            out.append((g.id, g.id, mine))
    return out


def wanted(bot: Bot) -> dict[str, str]:
    """scope → text of every template that should exist (cut to WeCom's limit as a last guard:
    the config check refuses a longer text before it gets here)."""
    return {
        scope: text.encode()[:MAX_BYTES].decode(errors="ignore")
        for scope, _, text in _scopes(bot.config)
    }


def length_check(cfg: Config) -> list[str]:
    """A welcome template over WeCom's 3,000 bytes is a config error naming what to shorten."""
    if not (cfg.wecom.sync.enabled and cfg.wecom.sync.welcome_template):
        return []
    index = {g.id: i for i, g in enumerate(cfg.groups)}
    default_rules = cfg.feature(RulesConfig, None).text
    problems: list[str] = []
    for _, gid, text in _scopes(cfg):
        size = len(text.encode())
        if size <= MAX_BYTES:
            continue
        own = gid is not None and cfg.feature(RulesConfig, gid).text != default_rules
        where = f"groups[{index[gid]}].rules.text" if own and gid is not None else "rules.text"
        whose = f"group {gid}" if gid is not None else "the default scope"
        problems.append(
            f"{where}: the WeCom welcome template for {whose} would be {size:,} bytes; WeCom "
            f"takes at most {MAX_BYTES:,} — shorten the rules text or the "
            "wecom.welcome_template template"
        )
    return problems


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def sync_templates(bot: Bot, client: WeComClient) -> dict[str, str]:
    """Bring WeCom's templates in line; returns scope → what was done (added/edited/deleted)."""
    want = wanted(bot)
    async with bot.db.read() as s:
        have = {r.scope: r for r in (await s.scalars(select(WeComWelcomeTemplate))).all()}
    done: dict[str, str] = {}
    for scope, text in want.items():
        row = have.get(scope)
        h = digest(text)
        if row is not None and row.content_hash == h:
            continue
        try:
            if row is not None:
                await client.call(
                    f"{PATH}/edit", {"template_id": row.template_id, "text": {"content": text}}
                )
                template_id, done[scope] = row.template_id, "edited"
            else:
                data = await client.call(f"{PATH}/add", {"text": {"content": text}, "notify": 1})
                template_id, done[scope] = str(data.get("template_id", "")), "added"
        except WeComError as exc:
            log.warning("welcome template %s: %s", scope, exc)
            continue
        await _store(bot, scope, template_id, h)
    for scope, row in have.items():
        if scope in want:
            continue
        try:
            await client.call(f"{PATH}/del", {"template_id": row.template_id})
        except WeComError as exc:
            if exc.retryable:
                continue
        async with bot.db.transaction() as s:
            await s.execute(delete(WeComWelcomeTemplate).where(WeComWelcomeTemplate.scope == scope))
        done[scope] = "deleted"
    return done


async def _store(bot: Bot, scope: str, template_id: str, h: str) -> None:
    async with bot.db.transaction() as s:
        row = await s.get(WeComWelcomeTemplate, scope)
        if row is None:
            s.add(
                WeComWelcomeTemplate(
                    scope=scope, template_id=template_id, content_hash=h, updated_at=bot.clock.now()
                )
            )
        else:
            row.template_id, row.content_hash, row.updated_at = template_id, h, bot.clock.now()
