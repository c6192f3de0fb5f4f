"""Handing an occurrence to a customer group's channel, inside the caller's transaction.

Rules:
- Called by the one programme posting path and by the broadcast fan-out for each group: a
  group that is not a customer group (``is_customer_group``) is posted as usual (the caller
  does it); a customer group gets an item, unique by the occurrence's key.
- An official occurrence (a key slot, a broadcast marked ``official``) becomes a 企业群发 item
  unless the group's caps are reached: ``month_cap`` items in the calendar month or
  ``day_cap`` on the day of its time (group timezone; cancelled and refused ones are not
  counted, the ones still waiting for the owner or never sent are — whether WeCom counts a
  task its owner did not send is not documented, so the count errs on the cautious side);
  then, like every other occurrence, it is a staff reminder: an app message to the
  owner (outbox key ``rm:{key}``) with the content and the time; a ``link`` attachment's URL
  is added to the content (``reminder_content``) so the owner can post it by hand.
- No WeCom call happens here: the ``groupmsg.round`` job makes the tasks.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from bot import Context, templates
from handlers.groupmsg.config import GroupMsgConfig, is_customer_group
from handlers.groupmsg.repo import Items

T_REMINDER = templates.register(
    "groupmsg.reminder",
    "📌 请在 {time} 把下面的内容发到客户群「{group}」（{theme}）：\n\n{content}",
    "time",
    "group",
    "theme",
    "content",
    "bot",
)


def month_span(at: datetime, tz: Any) -> tuple[datetime, datetime]:
    """The calendar month (in ``tz``) holding ``at``, as aware datetimes."""
    local = at.astimezone(tz)
    start = datetime.combine(local.date().replace(day=1), time(0), tzinfo=tz)
    nxt = (start + timedelta(days=32)).replace(day=1)
    return start, nxt


def day_span(at: datetime, tz: Any) -> tuple[datetime, datetime]:
    start = datetime.combine(at.astimezone(tz).date(), time(0), tzinfo=tz)
    return start, start + timedelta(days=1)


def reminder_content(text: str, attachments: list[dict[str, Any]] | None) -> str:
    """The content of a staff reminder: the text, then each ``link`` attachment's URL."""
    urls = [str(a["link"].get("url", "")) for a in attachments or () if a.get("link")]
    return "\n".join([text, *(f"🖼 {u}" for u in urls if u)]).strip()


async def official_count(ctx: Context, gid: str, lo: datetime, hi: datetime) -> int:
    """企业群发 items of ``gid`` due in ``[lo, hi)`` that count against the caps."""
    return await ctx.repo(Items).official_count(gid, lo, hi)


async def over_cap(ctx: Context, gid: str, at: datetime, cfg: GroupMsgConfig) -> str:
    """Why one more 企业群发 at ``at`` would break a cap ('' when it fits)."""
    tz = ctx.config.timezone(gid)
    if await official_count(ctx, gid, *month_span(at, tz)) >= cfg.month_cap:
        return f"month cap {cfg.month_cap} reached"
    if await official_count(ctx, gid, *day_span(at, tz)) >= cfg.day_cap:
        return f"day cap {cfg.day_cap} reached"
    return ""


async def hand_over(
    ctx: Context,
    *,
    key: str,
    source: str,
    text: str,
    at: datetime,
    official: bool,
    theme: str = "",
    attachments: list[dict[str, Any]] | None = None,
    group_id: str | None = None,
) -> bool:
    """Give a group's share of an occurrence (the event's group, or ``group_id``) to its
    customer-group channel; False when it is not a customer group (the caller posts as
    usual)."""
    gid = group_id or ctx.group_id
    if gid is None or not is_customer_group(ctx.config, gid):
        return False
    cfg = ctx.config.feature(GroupMsgConfig, gid)
    channel, reason = "reminder", ""
    if official:
        reason = await over_cap(ctx, gid, at, cfg)
        channel = "reminder" if reason else "groupmsg"
    row = dict(
        key=key,
        source=source,
        group_id=gid,
        owner=cfg.owner,
        channel=channel,
        state="pending" if channel == "groupmsg" else "reminder",
        reason=reason,
        text=text,
        attachments=attachments or [],
        due_at=at,
        end_at=at + timedelta(minutes=cfg.window_minutes),
        created_at=ctx.now(),
    )
    items = ctx.repo(Items)
    if not await items.add(row):
        return True  # this occurrence was handed over already
    if channel == "reminder":
        local = at.astimezone(ctx.config.timezone(gid)).strftime("%m-%d %H:%M")
        body = ctx.render_for(
            gid,
            T_REMINDER,
            time=local,
            theme=theme or "群消息",
            content=reminder_content(text, attachments),
        )
        await items.remind(
            now=ctx.now(),
            user_id=cfg.owner,
            text=body,
            group_id=gid,
            idem_key=f"rm:{key}",
        )
    return True
