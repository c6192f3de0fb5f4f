"""``/邀请码``: a member's personal join code (WeCom 加入群聊 QR code carrying their referral code).

Rules:
- On a synced WeCom customer group the code is made once through
  ``externalcontact/groupchat/add_join_way`` (scene 2 = QR code, this group only, ``state`` =
  the member's referral code) and its QR link read with ``get_join_way``; later asks get the
  same link. Newcomers who scan it join with that ``state`` and are credited to the member.
- The command never waits on WeCom: it answers "being made" and the link is posted to the group
  (mentioning the member where a robot can: corp userids only — an external contact is named
  in the text) when ready. The WeCom ``config_id`` is stored as soon as WeCom gives
  it, so a crash in between does not make a second code.
- Codes not used for ``[wecom.sync] join_code_days`` are deleted at WeCom (``del_join_way``)
  and here, within WeCom's limit on join ways; asking again makes a new one.
- Elsewhere (OneBot, console, WeCom without a secret) the member gets their referral code as
  text: OneBot's invite notices already name the inviter.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select, update

from bot import Context, group_only, queue_group_text, templates
from bot.wecom_api import WeComClient, WeComError
from handlers.referral import Referrals
from handlers.wecom_sync.events import router, synced
from handlers.wecom_sync.repo import Sync
from storage.models import Member
from storage.models_wecom import WeComJoinWay

if TYPE_CHECKING:
    from bot import Bot

log = logging.getLogger("groupbot.wecom.joincodes")
MAX_ATTEMPTS = 5
V = ("name", "group", "bot")
T_READY = templates.register(
    "wecom.join_code", "🔗 {name} 的专属入群码：{url}\n好友扫码入群后计入你的邀请。", *V, "url"
)
T_PENDING = templates.register(
    "wecom.join_code_pending", "⏳ 正在为 {name} 生成专属入群码，生成后会发到群里。", *V
)
T_FAILED = templates.register(
    "wecom.join_code_failed",
    "⚠️ {name} 的专属入群码生成失败（{reason}），请联系管理员。",
    *V,
    "reason",
)
T_PLAIN = templates.register(
    "wecom.referral_code",
    "🔗 {name} 的邀请码：{code}\n邀请好友入群时，由平台记录的邀请人计入你的邀请。",
    *V,
    "code",
)


@router.command("邀请码", "入群码", "invitecode", help="我的专属入群码", filters=(group_only,))
async def my_join_code(ctx: Context) -> None:
    gid, uid = ctx.group_id, ctx.user_id
    assert gid is not None
    name = await ctx.member_name(uid)
    code = await ctx.repo(Referrals).code(gid, uid, ctx.now())
    w = ctx.config.wecom
    if not (synced(ctx, gid) and w.corp_id and w.secret):
        await ctx.reply(ctx.render(T_PLAIN, name=name, code=code))
        return
    sync = ctx.repo(Sync)
    row = await sync.join_code(gid, uid)
    if row is not None and row.status == "ready" and row.qr_code:
        await ctx.reply(ctx.render(T_READY, name=name, url=row.qr_code))
        return
    await sync.ask_join_code(gid, uid, code, ctx.now())
    await ctx.reply(ctx.render(T_PENDING, name=name))


async def make_pending(bot: Bot, client: WeComClient) -> int:
    """Create the join codes members asked for; returns how many became ready."""
    async with bot.db.read() as s:
        rows = list(
            (await s.scalars(select(WeComJoinWay).where(WeComJoinWay.status == "pending"))).all()
        )
    ready = 0
    for row in rows:
        try:
            if not row.config_id:
                body = {
                    "scene": 2,
                    "remark": f"邀请码 {row.state}",
                    "auto_create_room": 0,
                    "chat_id_list": [row.group_id],
                    "state": row.state,
                }
                data = await client.call("externalcontact/groupchat/add_join_way", body)
                row.config_id = str(data.get("config_id", ""))
                await _update(bot, row, config_id=row.config_id)
            data = await client.call(
                "externalcontact/groupchat/get_join_way", {"config_id": row.config_id}
            )
            way = data["join_way"] if isinstance(data.get("join_way"), dict) else {}
            qr = str(way.get("qr_code", ""))
            if not qr:
                raise WeComError(-1, "join way has no qr_code yet", retryable=True)
        except WeComError as exc:
            await _trouble(bot, row, exc)
            continue
        await _update(bot, row, status="ready", qr_code=qr, created_at=bot.clock.now())
        await _tell(
            bot, row, T_READY, f"joincode:{row.group_id}:{row.user_id}:{row.config_id}", url=qr
        )
        ready += 1
    return ready


async def cleanup(bot: Bot, client: WeComClient) -> int:
    """Delete codes unused for ``join_code_days``; returns how many were removed."""
    days = bot.config.wecom.sync.join_code_days
    cutoff = bot.clock.now() - timedelta(days=days)
    used = func.coalesce(WeComJoinWay.last_used_at, WeComJoinWay.created_at)
    async with bot.db.read() as s:
        q = select(WeComJoinWay).where(
            WeComJoinWay.status.in_(("ready", "failed")),
            or_(used < cutoff, used.is_(None) & (WeComJoinWay.requested_at < cutoff)),
        )
        rows = list((await s.scalars(q)).all())
    removed = 0
    for row in rows:
        if row.config_id:
            try:
                await client.call(
                    "externalcontact/groupchat/del_join_way", {"config_id": row.config_id}
                )
            except WeComError as exc:
                if exc.retryable:
                    continue  # next night
                log.info("del_join_way %s: %s (dropping our row)", row.config_id, exc)
        async with bot.db.transaction() as s:
            await s.execute(
                delete(WeComJoinWay).where(
                    WeComJoinWay.group_id == row.group_id, WeComJoinWay.user_id == row.user_id
                )
            )
        removed += 1
    return removed


async def _update(bot: Bot, row: WeComJoinWay, **values: Any) -> None:
    async with bot.db.transaction() as s:
        await s.execute(
            update(WeComJoinWay)
            .where(WeComJoinWay.group_id == row.group_id, WeComJoinWay.user_id == row.user_id)
            .values(**values)
        )


async def _trouble(bot: Bot, row: WeComJoinWay, exc: WeComError) -> None:
    attempts = row.attempts + 1
    gave_up = not exc.retryable or attempts >= MAX_ATTEMPTS
    status = "failed" if gave_up else "pending"
    await _update(bot, row, attempts=attempts, last_error=str(exc)[:1000], status=status)
    log.warning("join code for %s in %s: %s", row.user_id, row.group_id, exc)
    if gave_up:
        key = f"joincode-failed:{row.group_id}:{row.user_id}:{row.requested_at.timestamp()}"
        await _tell(bot, row, T_FAILED, key, reason=exc.errmsg or str(exc.errcode))


async def _tell(bot: Bot, row: WeComJoinWay, key: str, idem: str, **values: Any) -> None:
    """Post a join-code message to the member's group, mentioning them (once per ``idem``)."""
    async with bot.db.read() as s:
        name = await s.scalar(
            select(Member.name).where(
                Member.group_id == row.group_id, Member.user_id == row.user_id
            )
        )
    name = name or row.user_id
    g = bot.config.group(row.group_id)
    text = templates.render(
        bot.config,
        key,
        row.group_id,
        name=name,
        group=(g.name if g and g.name else row.group_id),
        bot=bot.config.bot.name,
        **values,
    )
    async with bot.db.transaction() as s:
        await queue_group_text(
            s,
            bot.config,
            now=bot.clock.now(),
            group_id=row.group_id,
            text=text,
            idem_key=idem,
            platform="wecom",
            mentions=(row.user_id,),
        )
    bot.wake_outbox()
