"""Adding and removing a group's keyword replies: the checks and rows ``/加回复``/``/删回复``
and the console's 自动回复 tab share.

Rules:
- Keywords: ``a|b`` answers when either appears, ``a+b`` when both do, ``=a`` only when the
  whole message is ``a``; 1–20 keywords, each normalised and compiled like a banned word.
- The reply is a template naming only the auto-reply variables (``config.VARIABLES``), at
  most 2,000 characters.
- Adding the same keywords again replaces the reply (one row per group and keywords, the
  table's unique key); a group holds at most ``max_chat_rules`` of them.
- A refusal (``RuleRefused``) says why in Chinese and nothing is written.
"""

from __future__ import annotations

from datetime import datetime

from bot import PatternError, Patterns, normalise, templates
from handlers.autoreply.config import VARIABLES, AutoreplyConfig
from handlers.autoreply.repo import Replies

MAX_REPLY = 2000
USAGE_ADD = "用法：/加回复 关键词 回复内容（a|b 任一出现，a+b 同时出现，=a 整句等于 a）"


class RuleRefused(ValueError):
    """A keyword reply that may not be stored; the message says why."""


def parse_spec(spec: str) -> tuple[str, list[str]]:
    """(match kind, keywords) of a typed keyword spec; RuleRefused with a Chinese reason."""
    if spec.startswith(("=", "＝")):
        match, words = "exact", [spec[1:]]
    elif "+" in spec or "＋" in spec:
        match, words = "contains", spec.replace("＋", "+").split("+")
    else:
        match, words = "any", spec.replace("｜", "|").split("|")
    words = [w for w in words if w]
    if not words or len(words) > 20:
        raise RuleRefused("请写 1 到 20 个关键词")
    try:
        Patterns.compile(words)
    except PatternError as exc:
        word = words[exc.index]
        why = "最长 64 个字" if "longer" in exc.reason else "需要包含文字或数字"
        raise RuleRefused(f"关键词「{word[:20]}」无法使用：{why}") from None
    return match, words


def key_of(match: str, words: list[str]) -> str:
    """One group's rule identity: the kind and its normalised keywords."""
    norm = sorted({normalise(w)[0] for w in words})
    return f"{match}:{'|'.join(norm)}"[:400]


def checked_rule(spec: str, reply: str) -> tuple[str, list[str]]:
    """(match kind, keywords) of a rule that may be stored, or RuleRefused."""
    if not spec or not reply:
        raise RuleRefused(USAGE_ADD)
    match, words = parse_spec(spec)
    try:
        templates.validate(reply, VARIABLES)
    except templates.TemplateError as exc:
        names = " ".join("{" + v + "}" for v in sorted(VARIABLES))
        raise RuleRefused(f"回复内容无法使用（{exc}）。可用的占位符：{names}") from None
    if len(reply) > MAX_REPLY:
        raise RuleRefused(f"回复内容最长 {MAX_REPLY} 个字")
    return match, words


async def put_rule(
    replies: Replies,
    cfg: AutoreplyConfig,
    gid: str,
    spec: str,
    reply: str,
    by: str,
    now: datetime,
) -> tuple[int, str, list[str]]:
    """Check and store (or replace) a rule; (its id, match kind, keywords). RuleRefused."""
    match, words = checked_rule(spec, reply)
    key = key_of(match, words)
    if await replies.rules_besides(gid, key) >= cfg.max_chat_rules:
        raise RuleRefused(f"本群最多 {cfg.max_chat_rules} 条关键词回复，请先删除一条")
    values = dict(reply=reply, keywords=words, created_by=by[:128], created_at=now)
    return await replies.put_rule(gid, key, match, **values), match, words


async def drop_rule(replies: Replies, gid: str, rule_id: int | None, spec: str) -> bool:
    """Remove a chat rule by id, else by its keywords as added; False when there was none.
    RuleRefused when ``spec`` is no keyword spec."""
    key = None if rule_id is not None else key_of(*parse_spec(spec))
    return await replies.remove_rule(gid, rule_id, key)
