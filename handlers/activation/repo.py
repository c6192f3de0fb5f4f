"""The activation plan's rows (``Plans``): the only code that touches ``activation_plans``
and ``activation_actions``.

Rules:
- A plan is stored once per (rule, group, day) — the unique constraint decides, so a second
  evaluation (a re-run, another instance) stores nothing and returns None — and its actions
  in the same transaction.
- An action changes state only by a conditional UPDATE from ``planned``: the executor's
  ``planned → done``/``missed`` and an operator's ``planned → skipped`` race, one wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update

from bot import Config, Repository, first_start, group_tags, queue_app_text
from handlers.stats import RecentActivity, recent_activity
from storage.dialect import insert_ignore, rowcount
from storage.models_activation import ActivationAction, ActivationPlan


@dataclass(frozen=True)
class ActionRow:
    plan_id: int
    idx: int
    group_id: str
    kind: str
    at: datetime
    status: str
    channel: str
    skipped_by: str
    done_at: datetime | None


@dataclass(frozen=True)
class PlanRow:
    id: int
    rule: str
    group_id: str
    day: date
    reason: str
    figures: dict[str, Any]
    actions: tuple[ActionRow, ...]


def _action(a: ActivationAction) -> ActionRow:
    return ActionRow(
        a.plan_id, a.idx, a.group_id, a.kind, a.at, a.status, a.channel, a.skipped_by, a.done_at
    )


class Plans(Repository):
    async def activity(
        self, config: Config, gids: Sequence[str], days: int, now: datetime
    ) -> dict[str, RecentActivity]:
        """The groups' activity over the last ``days`` whole days (``handlers.stats``)."""
        return await recent_activity(self._db, config, gids, days, now)

    async def tags(self, config: Config, gids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """The groups' effective tags (``bot.group_tags``)."""
        return await group_tags(self._db, config, gids)

    async def first_start(self) -> datetime | None:
        """When the bot first ran on this database (nothing is known before)."""
        return await first_start(self._db)

    async def add(self, plan: dict[str, Any], actions: list[dict[str, Any]]) -> int | None:
        """Store a plan and its actions; None when the (rule, group, day) is planned already."""
        table = ActivationPlan.__table__
        conflict = ["rule", "group_id", "day"]
        stmt = insert_ignore(self._db, table, conflict).returning(table.c.id)
        plan_id = (await self._query(stmt, [plan])).scalar()
        if plan_id is None:
            return None
        rows = [{**a, "plan_id": plan_id, "idx": i} for i, a in enumerate(actions)]
        await self._query(ActivationAction.__table__.insert(), rows)
        return int(plan_id)

    async def action(self, plan_id: int, idx: int) -> tuple[PlanRow, ActionRow] | None:
        a = await self._scalar(
            select(ActivationAction).where(
                ActivationAction.plan_id == plan_id, ActivationAction.idx == idx
            )
        )
        p = await self._scalar(select(ActivationPlan).where(ActivationPlan.id == plan_id))
        if a is None or p is None:
            return None
        plan = PlanRow(p.id, p.rule, p.group_id, p.day, p.reason, dict(p.figures), ())
        return plan, _action(a)

    async def move(
        self, plan_id: int, idx: int, status: str, now: datetime, *, channel: str = "", by: str = ""
    ) -> bool:
        """``planned → status``; True for the one caller that moved it."""
        values: dict[str, Any] = {"status": status, "done_at": now}
        if channel:
            values["channel"] = channel
        if by:
            values["skipped_by"] = by[:128]
        res = await self._execute(
            update(ActivationAction)
            .where(
                ActivationAction.plan_id == plan_id,
                ActivationAction.idx == idx,
                ActivationAction.status == "planned",
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(rowcount(res))

    async def due(self, now: datetime, limit: int = 500) -> list[ActionRow]:
        """Planned actions whose time has come, oldest first."""
        q = (
            select(ActivationAction)
            .where(ActivationAction.status == "planned", ActivationAction.at <= now)
            .order_by(ActivationAction.at)
            .limit(limit)
        )
        return [_action(a) for a in await self._scalars(q)]

    async def week(self, first: date, last: date) -> list[PlanRow]:
        """The plans of the days ``first``..``last`` with their actions."""
        plans = await self._scalars(
            select(ActivationPlan)
            .where(ActivationPlan.day >= first, ActivationPlan.day <= last)
            .order_by(ActivationPlan.day, ActivationPlan.group_id, ActivationPlan.rule)
        )
        ids = [p.id for p in plans]
        acts: dict[int, list[ActionRow]] = {}
        for i in range(0, len(ids), 500):
            q = select(ActivationAction).where(ActivationAction.plan_id.in_(ids[i : i + 500]))
            for a in await self._scalars(q.order_by(ActivationAction.idx)):
                acts.setdefault(a.plan_id, []).append(_action(a))
        return [
            PlanRow(
                p.id,
                p.rule,
                p.group_id,
                p.day,
                p.reason,
                dict(p.figures),
                tuple(acts.get(p.id, [])),
            )
            for p in plans
        ]

    async def app_text(self, **message: Any) -> None:
        """An app message to a WeCom staff member (``queue_app_text``)."""
        await queue_app_text(self._db, **message)
