"""``/admin/rewards`` (兑换码导入): reward codes uploaded as a CSV file from the console, into
the shared pool or the pool a chosen group draws from.

Rules: exactly ``groupbot rewards import``: rows ``tier,code`` (``parse_codes``), a tier must
be one configured for that group (or anywhere, for the shared pool), a bad row or an unknown
tier refuses the whole file with the line named and nothing stored; codes already known are
ignored; the pool's waiting claims are fulfilled in the same transaction
(``import_codes``). Importing needs the role ``operator`` and the form's anti-forgery value,
and writes one audit row with the staff member's name. The page shows how many codes each
pool has left. Everything shown is escaped.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from bot.web_public import (
    bot_of,
    checked_form,
    esc,
    form_guard,
    page,
    record_change,
    table,
    uploaded_file,
)
from handlers.referral.cli import configured_tiers, import_codes, parse_codes
from handlers.referral.pools import pool_of
from storage.models_referral import RewardCode

PATH = "/admin/rewards"


async def show(request: web.Request, *, note: str = "", status: int = 200) -> web.Response:
    bot = bot_of(request)
    config = bot.config
    async with bot.db.read() as s:
        left = (
            await s.execute(
                select(RewardCode.pool, RewardCode.tier, func.count())
                .where(RewardCode.claim_id.is_(None))
                .group_by(RewardCode.pool, RewardCode.tier)
                .order_by(RewardCode.pool, RewardCode.tier)
            )
        ).all()
    users = {p: [g.id for g in config.groups if pool_of(config, g.id) == p] for p, _, _ in left}
    rows = [(p or "共享", "、".join(users.get(p, [])) or "-", t, n) for p, t, n in left]
    grid = table(
        ["奖池", "使用的群", "档位", "剩余"],
        rows,
        numeric=(2, 3),
        attrs='data-table="pools"',
        empty="还没有兑换码",
    )
    options = '<option value="">共享奖池</option>' + "".join(
        f'<option value="{esc(g.id)}">{esc(g.name or g.id)}'
        f"（奖池 {esc(pool_of(config, g.id) or '共享')}）</option>"
        for g in config.groups
    )
    body = (
        f"<h1>兑换码导入</h1>{note}"
        f'<form method="post" action="{PATH}" enctype="multipart/form-data" class="compose" '
        f'data-form="rewards">{form_guard(request)}'
        f'<p><label>导入到 <select name="group">{options}</select></label></p>'
        "<p><label>CSV 文件（每行 档位,兑换码；档位是邀请人数） "
        '<input type="file" name="file" accept=".csv,text/csv" required></label></p>'
        "<button>导入</button></form>"
        f"<h2>剩余兑换码</h2>{grid}"
    )
    return page(request, "兑换码导入", body, status=status)


async def rewards_page(request: web.Request) -> web.Response:
    return await show(request)


async def rewards_post(request: web.Request) -> web.Response:
    bot = bot_of(request)
    config = bot.config
    form = await checked_form(request)
    group = form.get("group", "")
    upload = await uploaded_file(request, "file")

    def refused(reason: str) -> str:
        return f'<p class="bad" data-error="file">导入失败，没有保存任何兑换码：{esc(reason)}</p>'

    if group and config.group(group) is None:
        return await show(request, note=refused(f"没有群 {group}"), status=400)
    if upload is None:
        return await show(request, note=refused("请选择 CSV 文件"), status=400)
    name, raw = upload
    try:
        text = raw.decode("utf-8-sig")
        rows = parse_codes(text.splitlines(), name, configured_tiers(config, group or None))
    except UnicodeDecodeError:
        return await show(request, note=refused("文件不是 UTF-8 编码"), status=400)
    except ValueError as exc:
        return await show(request, note=refused(str(exc)), status=400)
    now = bot.clock.now()
    async with bot.db.transaction() as s:
        added, done, handovers, pool = await import_codes(s, config, now, rows, group)
        record_change(
            s,
            request,
            "referral.codes_import",
            pool or "shared",
            group_id=group or None,
            file=name,
            pool=pool,
            added=added,
            fulfilled=done,
        )
    lines = "".join(f"<li>{esc(h)}</li>" for h in handovers)
    note = (
        f'<p class="ok" data-added="{added}" data-fulfilled="{done}">导入 {added} 个新兑换码'
        f"（{len(rows) - added} 个已存在），补发 {done} 个等待中的奖励。</p>"
        + (f"<p>以下兑换码需要手动转交：</p><ul>{lines}</ul>" if lines else "")
    )
    return await show(request, note=note)
