"""The event side of the AI answer: questions written down, answers and budget notices posted.

Rules:
- A question is only written down in the event's transaction (``autoreply_ai_requests``, key
  ``ai:{event id}``, unique) with the chat messages for the model already built; the worker
  (``worker``) asks the model outside any event.
- The worker hands a model's answer back as an inbox event (``autoreply.ai_answer``, keyed by
  the request), handled here like any other event: the answer is recorded under the original
  event's key (``evt:{id}``) — so a message never gets both a rule's and the model's answer,
  or the model's twice — and posted through the outbox with the key
  ``autoreply:ai:{event id}``, paced like every reply.
- A spent budget is told to the admins once per day (``autoreply.ai_budget``, keyed by day).
"""

from __future__ import annotations

import asyncio

from bot import Context, Router, Scheduled, StateKey, group_only, templates
from handlers.autoreply.config import AutoreplyConfig
from handlers.autoreply.logic import Entry, prompt
from handlers.autoreply.repo import Replies
from handlers.rules import rules_text

router = Router("autoreply-ai")
ANSWER_JOB = "autoreply.ai_answer"
BUDGET_JOB = "autoreply.ai_budget"
# set when a question is written down: the worker looks at once instead of at its next poll
WAKE: StateKey[asyncio.Event] = StateKey("autoreply.ai.wake", asyncio.Event)
T_AI = templates.register("autoreply.ai_answer", "{answer}", "answer", "name", "group", "bot")
T_BUDGET = templates.register(
    "autoreply.ai_budget",
    "⚠️ 今天的 AI 回答次数（{budget} 次）已用完，今天不再调用模型，关键词回复照常。",
    "budget",
    "group",
    "bot",
)


async def ask_later(ctx: Context, cfg: AutoreplyConfig, entries: list[Entry], text: str) -> None:
    """Write the question down for the worker (once per event)."""
    msg = ctx.message
    assert msg is not None and ctx.group_id is not None
    messages = prompt(cfg.ai, entries, await rules_text(ctx), text)
    row = dict(
        key=f"ai:{ctx.event_id}",
        event_id=ctx.event_id,
        group_id=ctx.group_id,
        user_id=msg.user_id,
        platform=ctx.group.platform if ctx.group else msg.platform,
        message_id=msg.message_id[:128],
        reply_url=msg.reply_url,
        messages=messages,
        status="pending",
        attempts=0,
        reason="",
        created_at=ctx.now(),
    )
    await ctx.repo(Replies).ask(row)
    ctx.services.state.need(WAKE).set()


@router.job(ANSWER_JOB, group_only)
async def on_answer(ctx: Context, ev: Scheduled) -> None:
    """Post the model's answer to the question it was asked (once)."""
    assert ctx.group_id is not None
    replies = ctx.repo(Replies)
    req = await replies.request(int(ev.data.get("request", 0)))
    if req is None or req.status != "asking" or req.group_id != ctx.group_id:
        return
    await replies.answered(req.id, ctx.now())
    if not await replies.record_answer(
        f"evt:{req.event_id}",
        ctx.group_id,
        rule_id="ai",
        source="ai",
        user_id=req.user_id,
        day=ctx.local_day(),
        created_at=ctx.now(),
    ):
        return
    name = await ctx.member_name(req.user_id)
    text = ctx.render(T_AI, answer=str(ev.data.get("answer", "")), name=name)
    if req.reply_url:
        await ctx.reply_aibot(text, req.reply_url)
        return
    address = ctx.feature(AutoreplyConfig).address
    onebot = req.platform == "onebot"
    await ctx.send(
        ctx.group_id,
        text,
        mentions=(req.user_id,) if address and not onebot else (),
        quote=req.message_id if address and onebot else "",
        idem_key=f"autoreply:ai:{req.event_id}",
        platform=req.platform,
    )


@router.job(BUDGET_JOB)
async def on_budget(ctx: Context, ev: Scheduled) -> None:
    """Tell the admins that today's model budget is spent."""
    budget = ctx.config.feature(AutoreplyConfig).ai.daily_budget
    await ctx.notify_admins(ctx.render(T_BUDGET, budget=budget), ev.group_id)
