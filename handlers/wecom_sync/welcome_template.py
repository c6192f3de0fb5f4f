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
    from bot import Bot

log = logging.getLogger("groupbot.wecom.welcome")
T_TEMPLATE = templates.register(
    "wecom.welcome_template",
    "🎉 欢迎 %NICKNAME% 加入{group}！\n群规：\n{rules}\n@{bot} 发送 /帮助 看看能做什么～",
    "group",
    "bot",
    "rules",
)
PATH = "externalcontact/group_welcome_template"
MAX_BYTES = 4000


def wanted(bot: Bot) -> dict[str, str]:
    """scope → text of every template that should exist."""
    cfg = bot.config

    def text(gid: str | None) -> str | None:
        if not cfg.feature(WelcomeConfig, gid).enabled:
            return None
        body = templates.render(
            cfg,
            T_TEMPLATE,
            gid,
            group="本群",  # one text for many groups: only overrides make a group's own
            bot=cfg.bot.name,
            rules=cfg.feature(RulesConfig, gid).text,
        )
        return body.encode()[:MAX_BYTES].decode(errors="ignore")

    out: dict[str, str] = {}
    default = text(None)
    if default is not None:
        out["default"] = default
    for g in cfg.groups:
        if g.platform != "wecom":
            continue
        mine = text(g.id)
        if mine is not None and mine != default:
            out[g.id] = mine
    return out


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
