"""Random interleavings of joins, leaves, rejoins, speech, settlements and time against a
small reference model of the invite rules."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.events import Scheduled
from handlers.referral.ledger import invite_counts
from tests.harness import start_harness

PEOPLE = ["p1", "p2", "p3"]
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("join"), st.sampled_from(PEOPLE)),
        st.tuples(st.just("leave"), st.sampled_from(PEOPLE)),
        st.tuples(st.just("say"), st.sampled_from(PEOPLE)),
        st.tuples(st.just("advance"), st.sampled_from([1, 2, 4, 8])),
        st.tuples(st.just("settle"), st.just("")),
    ),
    max_size=14,
)


def _day(value: float | str | None) -> float:
    """A day number the model stored (set before it is read)."""
    assert isinstance(value, float | int), value
    return float(value)


class Model:
    """The rules, written plainly: one ledger row per invitee, first come."""

    def __init__(self) -> None:
        self.day = 0.0
        self.seen: set[str] = set()
        self.in_group: set[str] = set()
        self.rows: dict[str, dict[str, float | str | None]] = {}

    def apply(self, op: str, arg: str | int) -> None:
        if op == "join":
            p = str(arg)
            if p not in self.rows:
                status = "fake" if p in self.seen else "pending"
                self.rows[p] = {"status": status, "joined": self.day, "qualified": None}
            self.seen.add(p)
            self.in_group.add(p)
        elif op == "say":
            self.seen.add(str(arg))
            self.in_group.add(str(arg))
        elif op == "leave":
            p = str(arg)
            self.seen.add(p)  # seen leaving: they had been in the group
            self.in_group.discard(p)
            row = self.rows.get(p)
            if row and row["status"] == "pending":
                row["status"] = "left"
            elif row and row["status"] == "valid" and self.day - _day(row["qualified"]) <= 7:
                row["status"] = "deducted"
        elif op == "advance":
            self.day += int(arg)
        elif op == "settle":
            for p, row in self.rows.items():
                if (
                    row["status"] == "pending"
                    and self.day - _day(row["joined"]) >= 3
                    and p in self.in_group
                ):
                    row["status"], row["qualified"] = "valid", self.day

    def counts(self) -> dict[str, int]:
        st_ = [r["status"] for r in self.rows.values()]
        return {
            "valid": st_.count("valid"),
            "pending": st_.count("pending"),
            "left": st_.count("left") + st_.count("deducted"),
            "fake": st_.count("fake"),
        }


async def run(ops: list[tuple[str, str | int]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        h = await start_harness(Path(d), {"referral": {"qualify_days": 3, "deduct_days": 7}})
        model = Model()
        try:
            for op, arg in ops:
                model.apply(op, arg)
                if op == "join":
                    await h.join(str(arg), inviter="amy")
                elif op == "leave":
                    await h.leave(str(arg))
                elif op == "say":
                    await h.say(str(arg), "大家好")
                elif op == "advance":
                    h.clock.advance(timedelta(days=int(arg)))
                else:
                    await h.feed(
                        Scheduled(
                            dedup_key=uuid.uuid4().hex,
                            platform="internal",
                            group_id=None,
                            occurred_at=h.clock.now(),
                            job="referral.settle",
                        )
                    )
            async with h.bot.db.read() as s:
                got = await invite_counts(s, "g1", "amy")
            assert got == model.counts(), (ops, got, model.counts())
        finally:
            await h.bot.stop()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_counts_match_the_reference_model(ops: list[tuple[str, str | int]]) -> None:
    asyncio.run(run(ops))
