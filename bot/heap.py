"""The garbage collector in a long-running process (``serve`` and its worker).

Rules:
- Once started, everything loaded so far (modules, models, compiled statements, templates,
  config) lives as long as the process: ``settle`` moves it out of the collector's reach
  (``gc.freeze``), so a full collection no longer walks ~180,000 objects. In a burst of
  check-ins those full collections came every few seconds at ~100 ms each: a tenth of the CPU,
  and the slowest acknowledgements waited for them.
- The youngest generation is collected every ``YOUNG`` allocations instead of 700: an event's
  short-lived objects are mostly freed by their reference counts already, and each collection
  has a fixed cost. Memory held by cycles waits a little longer; it is not leaked.
- Nothing else changes: cycles are still collected, in every generation.
"""

from __future__ import annotations

import gc

YOUNG = 10_000


def settle() -> None:
    """After start-up: collect once, freeze what is left, collect the young less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG, older, oldest)
