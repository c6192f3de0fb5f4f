"""bot/heap.py: what ``serve`` and its worker do with the garbage collector once started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot import heap


@pytest.fixture
def restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settle_freezes_what_start_up_loaded_and_still_collects_cycles(restored: None) -> None:
    heap.settle()
    assert gc.get_freeze_count() > 10_000  # the modules and models loaded so far
    assert gc.get_threshold()[0] == heap.YOUNG

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle made after settling is still collected
    del a, b
    assert gc.collect() >= 2
