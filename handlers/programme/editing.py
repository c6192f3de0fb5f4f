"""Adding, removing, pausing and resuming a group's slots: the one path that ``/加节目`` and
its siblings in chat and the console's 节目编辑 page both take.

Rules: a slot is checked exactly as ``/加节目`` checks it — its content is a template of the
programme's variables only, its days and time parse, it is outside the group's quiet hours,
and its id (the theme) is not a config slot's — and every refusal is a Chinese reason
(``SlotRefused``) with nothing stored. A slot is a row keyed (group, slot id): adding one
that exists stores nothing. Only slots added from chat or the console can be removed; any
slot can be paused (``Ledger.pause``/``resume``). The rows are written through the
programme's ``Ledger``: ``ctx.repo(Ledger)`` in chat, ``Ledger(session)`` in the console.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError

from bot import templates
from handlers.programme.config import ProgrammeConfig
from handlers.programme.repo import Ledger
from handlers.programme.slots import find_slot
from schedules.model import VARIABLES, Slot, in_quiet, parse_quiet

SLOT_PROBLEMS = {
    "days": "日子只能写 周一…周日、星期一…星期日、每天、工作日、周末（多个用逗号分开）",
    "time": "时间要写成 HH:MM，例如 10:00",
    "id": "主题最多 64 个字，只能用中文、字母、数字、_ 和 -",
    "theme": "主题格式不对",
    "content": "内容格式不对",
}


class SlotRefused(ValueError):
    """A slot edit refused, with the reason in Chinese."""


def content_problem(text: str) -> None:
    """Raise SlotRefused with a Chinese reason unless ``text`` is content a slot may have."""
    try:
        templates.validate(text, VARIABLES)
    except templates.TemplateError as exc:
        names = "、".join("{" + v + "}" for v in sorted(VARIABLES))
        raise SlotRefused(
            f"节目内容只能用 {{名字}} 这样的占位符（可用：{names}），"
            f"不能带格式、转换或 . [ ]。问题：{exc}"
        ) from None


def slot_problem(exc: ValidationError) -> str:
    """The first problem of a slot typed in, in Chinese (pydantic's text is English)."""
    loc = exc.errors()[0]["loc"]
    field = str(loc[0]) if loc else ""
    return "节目格式不对：" + SLOT_PROBLEMS.get(field, "请检查日子、时间和主题")


def build_slot(
    cfg: ProgrammeConfig, gid: str, days: str, at: str, theme: str, content: str
) -> Slot:
    """The slot a group admin or operator typed (the theme is its id); SlotRefused else."""
    content_problem(content)
    try:
        slot = Slot(
            id=theme,
            days=[d for d in days.replace("，", ",").split(",") if d],
            time=at,
            theme=theme,
            content=content,
            targets=[gid],
        )
    except ValidationError as exc:
        raise SlotRefused(slot_problem(exc)) from None
    if in_quiet(slot.at, parse_quiet(cfg.quiet_hours)):
        raise SlotRefused(f"{slot.time} 在本群免打扰时段 {cfg.quiet_hours} 内")
    if find_slot(cfg, slot.id) is not None:
        raise SlotRefused(f"已有名为「{slot.id}」的节目")
    return slot


async def add_slot(ledger: Ledger, gid: str, slot: Slot, by: str, now: datetime) -> None:
    """Store the slot for ``gid``; SlotRefused when the group already has one of that id."""
    row = dict(
        group_id=gid,
        slot_id=slot.id,
        days=",".join(slot.days),
        time=slot.time,
        theme=slot.theme,
        content=slot.content,
        created_by=by[:128],
        created_at=now,
    )
    if not await ledger.add_slot(row):
        raise SlotRefused(f"已有名为「{slot.id}」的节目")


async def remove_slot(ledger: Ledger, cfg: ProgrammeConfig, gid: str, sid: str) -> None:
    """Remove a slot added from chat or the console; SlotRefused for a config slot or none."""
    if not await ledger.remove_slot(gid, sid):
        in_config = find_slot(cfg, sid) is not None
        raise SlotRefused(
            "配置文件里的节目不能删除，可以 /暂停节目" if in_config else f"没有节目「{sid}」"
        )


async def slot_in(ledger: Ledger, cfg: ProgrammeConfig, gid: str, sid: str) -> Slot | None:
    """The group's slot of that id: from the config, or added from chat or the console."""
    found = find_slot(cfg, sid)
    if found is None:
        custom = (await ledger.overrides()).custom.get(gid, [])
        found = next((x for x in custom if x.id == sid), None)
    return found
