"""Answering members' messages from the keyword rules and the FAQ, or asking the model.

Rules:
- Runs after moderation (a message the rules stopped — an ad, a banned word, a flood — is
  never answered) and after every command: a message that starts with ``/`` (or ``／``), or
  that any feature took as a command, is never matched.
- The bot's own messages, empty texts and groups the bot only observes get nothing.
- One reply per message: the most specific entry in force wins (``logic``); it answers at most
  once per ``cooldown_s`` per group (``Replies.take_cooldown``); a match in its cooldown stays
  silent (nothing less specific answers instead, and the model is not asked).
- The answer is recorded under the event's key before the reply is queued (``evt:{id}``,
  unique): a re-run or a redelivered event never answers twice.
- The reply quotes the asker's message on OneBot and @-mentions the asker on WeCom robots and
  the console (``address``); a 智能机器人 answer goes back to its callback. A rule's image
  follows the text.
- Nothing matched: when ``[autoreply.ai]`` is enabled and the message @-mentions the bot (or
  looks like a question in a group with ``ai.questions``), a pending request is written down
  for the AI worker — the model is never called from here.
"""

from __future__ import annotations

from typing import Any

from bot import (
    STOP,
    Context,
    MessageReceived,
    Router,
    StateKey,
    group_only,
    members_in_group,
    templates,
)
from handlers.autoreply.chatrules import COMMAND_PREFIXES, chat_rules
from handlers.autoreply.config import AutoreplyConfig
from handlers.autoreply.logic import Book, Books, Entry, entries_for, looks_like_question
from handlers.autoreply.repo import Replies
from handlers.autoreply.requests import ask_later
from handlers.checkin import CheckinConfig, Checkins

router = Router("autoreply")
BOOKS: StateKey[Books] = StateKey("autoreply.books", Books)
CN_WEEKDAY = "一二三四五六日"


def book_for(ctx: Context, cfg: AutoreplyConfig, chat: tuple[Entry, ...]) -> Book | None:
    """The group's compiled entries (None when it has none), kept while they do not change."""
    assert ctx.group_id is not None
    books = ctx.services.state.need(BOOKS)
    key = (ctx.group_id, id(cfg), chat)
    book = books.get(key)
    if book is None:
        entries = entries_for(cfg, ctx.group, ctx.group_id, list(chat))
        book = books.get(key, entries)
    return book if book is not None and book.entries else None


async def values(ctx: Context, text: str) -> dict[str, Any]:
    """What a reply's placeholders stand for; live figures are read only when named."""
    assert ctx.group_id is not None
    names = templates.fields(text)
    local = ctx.local_now()
    out: dict[str, Any] = {
        "name": (ctx.member.name if ctx.member else "") or ctx.user_id,
        "date": local.strftime("%m月%d日"),
        "weekday": "周" + CN_WEEKDAY[local.weekday()],
    }
    if "members" in names:
        out["members"] = await members_in_group(ctx)
    if "checkins_today" in names:
        day = ctx.local_day(ctx.feature(CheckinConfig).reset_hour)
        out["checkins_today"] = len(await ctx.repo(Checkins).on_day(ctx.group_id, day))
    if "top_checkin" in names:
        rows = await ctx.repo(Checkins).ranked(ctx.config, ctx.group_id, "today", 5, ctx.now())
        board = "\n".join(f"{i}. {n} {v}分" for i, (_u, n, v) in enumerate(rows, 1))
        out["top_checkin"] = board or "暂无"
    return out


async def send_reply(
    ctx: Context, text: str, *, address: bool, platform: str, user_id: str, message_id: str
) -> None:
    """Post an answer into the group, quoting or mentioning the asker where the platform can."""
    onebot = platform == "onebot"
    await ctx.send(
        ctx.group_id,
        text,
        mentions=(user_id,) if address and not onebot and user_id else (),
        quote=message_id if address and onebot else "",
        platform=platform,
    )


@router.on(MessageReceived, group_only)
async def on_message(ctx: Context) -> object:
    msg = ctx.message
    assert msg is not None and ctx.group_id is not None
    text = msg.text.strip()
    if ctx.command is not None or not text or text.startswith(COMMAND_PREFIXES):
        return None
    cfg = ctx.feature(AutoreplyConfig)
    if not cfg.enabled:
        return None
    book = book_for(ctx, cfg, await chat_rules(ctx))
    hit = book.best(text, ctx.local_now()) if book is not None else None
    if hit is not None:
        await answer(ctx, cfg, hit.entry, msg)
        return STOP
    ai = cfg.ai
    if ai.enabled and (msg.to_bot or (ai.questions and looks_like_question(text))):
        await ask_later(ctx, cfg, book.entries if book else [], text)
    return None


async def answer(ctx: Context, cfg: AutoreplyConfig, entry: Entry, msg: MessageReceived) -> None:
    """Answer with ``entry`` unless it is in its cooldown or the event was answered."""
    when = entry.when
    cooldown = when.cooldown_s if when is not None and when.cooldown_s is not None else None
    assert ctx.group_id is not None
    replies = ctx.repo(Replies)
    seconds = cfg.cooldown_s if cooldown is None else cooldown
    if not await replies.take_cooldown(ctx.group_id, entry.id, seconds, ctx.now()):
        return
    if not await replies.record_answer(
        f"evt:{ctx.event_id}",
        ctx.group_id,
        rule_id=entry.id,
        source=entry.source,
        user_id=msg.user_id,
        day=ctx.local_day(),
        created_at=ctx.now(),
    ):
        return
    text = templates.fill(entry.reply, await values(ctx, entry.reply) | _fixed(ctx))
    if msg.reply_url:  # a 智能机器人 callback: the answer goes back to it
        await ctx.reply(text)
    else:
        plat = ctx.group.platform if ctx.group else msg.platform
        await send_reply(
            ctx,
            text,
            address=cfg.address,
            platform=plat,
            user_id=msg.user_id,
            message_id=msg.message_id,
        )
    if entry.image:
        await ctx.act("image", image=entry.image)


def _fixed(ctx: Context) -> dict[str, Any]:
    g = ctx.group
    return {"group": g.name if g and g.name else ctx.group_id, "bot": ctx.config.bot.name}
