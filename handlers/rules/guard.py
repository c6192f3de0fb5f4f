"""Group rules (群规): checks on every group message, warnings that expire, the moderation log.

Rules:
- Owners, admins, global admins, the bot itself and the allow-list (``/白名单``, or ``exempt``
  in config) are never checked.
- Checks run in order — banned words, ads, flood — and the first that fires runs its action
  ladder (see ``handlers.rules.actions``); a message that broke a rule goes no further (no
  command or other feature sees it).
- Banned words are the group's as set from the console when it has them
  (``handlers.rules.overrides``), else the config's. They are matched on normalised text
  (full-width, case, spacing and punctuation do not hide a word; ``*`` spans a few
  characters) by a linear-time matcher.
- A flood is punished once per flood window; later messages of the same window are only
  deleted (when the ladder deletes). Commands never count as flooding (see
  ``handlers.rules.throttle``).
- Flood is the one piece of in-memory state: recent message times per member live in the
  process (``FloodTracker``); a restart forgets them, which only delays a flood verdict. The
  verdict for each stored event is remembered, so a re-run of the same event (batch rollback)
  reaches the same verdict instead of counting the message twice.
"""

from __future__ import annotations

from collections import OrderedDict

from bot import (
    STOP,
    Context,
    MessageReceived,
    Patterns,
    Role,
    Router,
    StateKey,
    group_only,
)
from handlers.rules import commands
from handlers.rules.actions import delete_quietly, enforce
from handlers.rules.config import RulesConfig
from handlers.rules.logic import FloodHit, FloodTracker, find_ads
from handlers.rules.overrides import RulesOverrides, in_force
from handlers.rules.repo import Moderation
from handlers.rules.throttle import command_throttle

router = Router("rules")
# flood guards of this process, one per distinct flood setting
FLOOD_GUARDS: StateKey[dict[str, FloodGuard]] = StateKey("rules.flood", dict)
VERDICTS_KEPT = 10_000
WORD_LISTS_KEPT = 256  # compiled banned-word lists kept (each console edit makes a new one)
_words: dict[tuple[str, ...], Patterns] = {}


def words_for(cfg: RulesConfig) -> Patterns:
    """The compiled matcher for these patterns (compiled once per distinct list)."""
    key = (str(cfg.wildcard_gap), *cfg.banned_words)
    if key not in _words:
        if len(_words) >= WORD_LISTS_KEPT:
            _words.pop(next(iter(_words)))  # the oldest
        _words[key] = Patterns.compile(list(cfg.banned_words), cfg.wildcard_gap)
    return _words[key]


class FloodGuard:
    """A FloodTracker whose verdict per event id is remembered (re-runs agree)."""

    def __init__(self, cfg: RulesConfig) -> None:
        self.tracker = FloodTracker(cfg.flood_messages, cfg.flood_seconds, cfg.flood_repeats)
        self.verdicts: OrderedDict[int, FloodHit | None] = OrderedDict()

    def record(self, ctx: Context, text: str) -> FloodHit | None:
        assert ctx.group_id is not None
        eid = ctx.event_id
        if eid is not None and eid in self.verdicts:
            return self.verdicts[eid]
        hit = self.tracker.record(ctx.group_id, ctx.user_id, text, ctx.now().timestamp())
        if eid is not None:
            self.verdicts[eid] = hit
            while len(self.verdicts) > VERDICTS_KEPT:
                self.verdicts.popitem(last=False)
        return hit


def flood_for(ctx: Context, cfg: RulesConfig) -> FloodGuard:
    """This bot's flood guard for these settings (in memory, per running bot)."""
    guards = ctx.services.state.need(FLOOD_GUARDS)
    key = f"{cfg.flood_messages}:{cfg.flood_seconds}:{cfg.flood_repeats}"
    if key not in guards:
        guards[key] = FloodGuard(cfg)
    return guards[key]


async def exempt(ctx: Context, cfg: RulesConfig) -> bool:
    """Owners, admins, the bot and allow-listed members are never checked."""
    if ctx.role >= Role.ADMIN or ctx.is_self(ctx.user_id) or ctx.user_id in cfg.exempt:
        return True
    assert ctx.group_id is not None
    return await ctx.repo(Moderation).allowed(ctx.group_id, ctx.user_id)


@router.on(MessageReceived, group_only)
async def check_message(ctx: Context) -> object:
    """Run the checks; a message that broke a rule goes no further."""
    msg = ctx.message
    assert msg is not None and ctx.group_id is not None
    cfg = ctx.feature(RulesConfig)
    if not (cfg.banned.enabled or cfg.ads.enabled or cfg.flood.enabled):
        return None
    if await exempt(ctx, cfg):
        return None
    if cfg.banned.enabled:  # the console may have given the group its own banned words
        cfg = in_force(cfg, await ctx.repo(RulesOverrides).banned_words(ctx.group_id))
    if cfg.banned.enabled and (m := words_for(cfg).match(msg.text)):
        await enforce(ctx, cfg, "banned", cfg.banned, f"违禁词「{m.pattern}」", m.excerpt)
        return STOP
    if cfg.ads.enabled:
        hits = [h for h in find_ads(msg.text, msg.attachments) if h.kind in cfg.ad_kinds]
        if hits:
            what = {"url": "链接", "phone": "手机号", "wechat_id": "加微信", "attachment": "卡片"}
            reason = f"疑似广告（{what.get(hits[0].kind, hits[0].kind)}：{hits[0].excerpt}）"
            await enforce(ctx, cfg, "ads", cfg.ads, reason, msg.text[:80] or f"[{hits[0].kind}]")
            return STOP
    if not cfg.flood.enabled:
        return None
    if ctx.command is not None and ctx.command.known:
        # a bot command is never a flood; the bot only stops answering its repeats
        said = " ".join(msg.text.split())  # the same text tapped again, not another spelling
        # a 智能机器人 callback is one @-mention that WeCom waits on an answer for
        throttled = ctx.event.platform != "aibot" and command_throttle(ctx, cfg).over(ctx, said)
        return STOP if throttled else None
    hit = flood_for(ctx, cfg).record(ctx, msg.text)
    if hit is None:
        return None
    if hit.first:
        reason = "刷屏" if hit.kind == "rate" else "重复发送相同内容"
        await enforce(ctx, cfg, "flood", cfg.flood, reason, msg.text[:80])
    elif "delete" in cfg.flood.actions and not cfg.flood.shadow:
        await delete_quietly(ctx, "flood", "刷屏（同一轮）", msg.text[:80])
    return STOP


# the chat commands (/规则, /警告 …) come after the check, so a rule-breaking command stops
router.routes += commands.router.routes
router.commands += commands.router.commands
