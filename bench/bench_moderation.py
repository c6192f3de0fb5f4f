"""Banned-word and ad checks: µs per message against 1,000 patterns.

python bench/bench_moderation.py [--patterns 1000] [--messages 20000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.textmatch import Patterns
from handlers.rules.logic import find_ads

CHARS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"
    "同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自"
    "二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日"
    "那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变"
    "条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
    "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指"
    "几九区强放决西被干做必战先回则任取据处理府研质"
)


def words(n: int, rng: random.Random) -> list[str]:
    out = set()
    while len(out) < n:
        w = "".join(rng.choice(CHARS) for _ in range(rng.randint(2, 4)))
        if rng.random() < 0.1:
            w = w[0] + "*" + w[1:]
        out.add(w)
    return sorted(out)


def messages(n: int, rng: random.Random, pats: list[str]) -> list[str]:
    out = []
    for i in range(n):
        text = "".join(rng.choice(CHARS + "，。！ abc123") for _ in range(100))
        if i % 10 == 0:
            p = rng.choice(pats).replace("*", "")
            text = text[:50] + " . ".join(p) + text[50:]
        out.append(text)
    return out


def timed(fn: Callable[[str], object], msgs: list[str]) -> tuple[float, float, float]:
    lat = []
    for m in msgs:
        t = time.perf_counter()
        fn(m)
        lat.append((time.perf_counter() - t) * 1e6)
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99)], sum(lat) / len(lat)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--patterns", type=int, default=1000)
    p.add_argument("--messages", type=int, default=20000)
    a = p.parse_args()
    rng = random.Random(7)
    pats = words(a.patterns, rng)
    t = time.perf_counter()
    bw = Patterns.compile(pats)
    compile_ms = (time.perf_counter() - t) * 1000
    msgs = messages(a.messages, rng, pats)
    hits = sum(1 for m in msgs if bw.match(m))
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(
        f"patterns {len(pats)} (compile {compile_ms:.0f} ms), messages {len(msgs)} of ~100 chars, "
        f"{hits} matched"
    )
    print(f"{'check':<16}{'p50 µs':>9}{'p99 µs':>9}{'mean µs':>9}")
    for name, fn in (("banned words", bw.match), ("ads", find_ads)):
        p50, p99, mean = timed(fn, msgs)
        print(f"{name:<16}{p50:>9.1f}{p99:>9.1f}{mean:>9.1f}")


if __name__ == "__main__":
    main()
