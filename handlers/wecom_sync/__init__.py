"""WeCom: customer-group member sync, personal join codes, the welcome template, and the
智能机器人's greeting when someone opens a chat with it."""

from __future__ import annotations

from bot import BotEnteredChat, Context, Feature, templates
from handlers.wecom_sync import joincodes as _joincodes  # noqa: F401  (registers /邀请码)
from handlers.wecom_sync.events import router
from handlers.wecom_sync.welcome_template import length_check
from handlers.wecom_sync.worker import JOBS

T_ENTER = templates.register(
    "aibot.enter_chat", "👋 你好，我是{bot}！在群里 @我 发送 /帮助 查看可用指令。", "bot", "group"
)


@router.on(BotEnteredChat)
async def on_enter_chat(ctx: Context) -> None:
    """Someone opened a single chat with the 智能机器人: a short greeting (passive reply)."""
    ev = ctx.event
    assert isinstance(ev, BotEnteredChat)
    await ctx.reply_aibot(ctx.render(T_ENTER), ev.reply_url, kind="text")


FEATURE = Feature(
    name="wecom_sync",
    router=router,
    templates=templates.owned_by(__name__),
    jobs=JOBS,
    checks=(length_check,),
)

__all__ = ["FEATURE"]
