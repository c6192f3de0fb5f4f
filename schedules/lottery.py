"""Lottery draws (抽奖) that anyone can re-check.

Rule: the seed is the sha256 of the occurrence id and the sorted candidate list; winners are
drawn with Python's ``random.Random(seed)`` — so the published seed and candidates reproduce
the same winners, and nobody (including us) can pick them after seeing the list.
"""

from __future__ import annotations

import hashlib
import random


def seed_for(occurrence: str, candidates: list[str]) -> str:
    material = occurrence + "|" + ",".join(sorted(candidates))
    return hashlib.sha256(material.encode()).hexdigest()


def draw(seed: str, candidates: list[str], k: int) -> list[str]:
    """``k`` distinct winners (fewer if there are fewer candidates), in draw order."""
    pool = sorted(candidates)
    return random.Random(int(seed, 16)).sample(pool, min(k, len(pool)))
